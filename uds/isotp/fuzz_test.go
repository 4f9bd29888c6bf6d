package isotp

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/bgkit/bgkit/can"
)

func FuzzDecodePDU(f *testing.F) {
	for _, s := range []string{
		"023E80CCCCCCCCCC", "00143E", "0003010203", "101400070E151C23", "1000000186A00007",
		"212A31383F464D54", "2F01", "300000", "3108F5", "3203FA", "33", "40", "", "00", "1000",
	} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePDU(b)
		if err != nil {
			return
		}
		enc, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %v does not encode: %v", p, err)
		}
		q, err := DecodePDU(enc)
		if err != nil {
			t.Fatalf("re-encoded %x does not decode: %v", enc, err)
		}
		if p.Type != q.Type || p.Escape != q.Escape || p.Length != q.Length || p.SeqNum != q.SeqNum ||
			p.Status != q.Status || p.BlockSize != q.BlockSize || p.STmin != q.STmin || !bytes.Equal(p.Data, q.Data) {
			t.Fatalf("decode %x = %v; re-encoded %x decodes to %v", b, p, enc, q)
		}
	})
}

// discardBus is a bus whose Send succeeds and drops the frame; it is
// never read (FuzzReassemble drives Conn.handle directly).
type discardBus struct{ sent int }

func (d *discardBus) Send(context.Context, can.Frame) error { d.sent++; return nil }
func (d *discardBus) Recv(ctx context.Context) (can.Received, error) {
	<-ctx.Done()
	return can.Received{}, ctx.Err()
}
func (d *discardBus) Close() error { return nil }

// FuzzReassemble feeds a receiving Conn arbitrary frames. The input is a
// sequence of records: a header byte (bits 0–6: payload length mod 65; bit
// 7: send on the Conn's receive identifier, else on another), then the
// payload. The Conn must neither panic nor hang, and must never deliver a
// message longer than MaxMessageSize.
func FuzzReassemble(f *testing.F) {
	seed := func(frames ...string) []byte {
		var b []byte
		for _, s := range frames {
			p := unhex(f, s)
			b = append(b, 0x80|byte(len(p)))
			b = append(b, p...)
		}
		return b
	}
	f.Add(seed("1010000102030405", "21060708090A0B0C", "220D0E0F"))
	f.Add(seed("1010000102030405", "2206070809", "023E80"))
	f.Add(seed("100000000100000102", "21", "300000"))
	f.Add(seed("0003010203", "1FFF0001020304050607", "2F"))
	f.Fuzz(func(t *testing.T, in []byte) {
		const maxMsg = 300
		bus := &discardBus{}
		r, err := Config{TxID: 0x7E8, RxID: 0x7E0, MaxMessageSize: maxMsg, BlockSize: 2}.resolve()
		if err != nil {
			t.Fatal(err)
		}
		c := &Conn{bus: bus, c: r, rxq: make(chan result, recvQueue), fcNotify: make(chan struct{}, 1), done: make(chan struct{})}
		c.armFC()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		for len(in) > 0 {
			h := in[0]
			n := min(int(h&0x7F)%65, len(in)-1)
			fr := can.Frame{ID: 0x7E1, FD: n > 8}
			if h&0x80 != 0 {
				fr.ID = 0x7E0
			}
			if l, _ := can.FDLen(n); fr.FD && int(l) != n {
				n = int(l)
				if n > len(in)-1 {
					n = 8
					fr.FD = false
				}
			}
			fr.SetPayload(in[1 : 1+n])
			in = in[1+n:]
			c.handle(ctx, &fr)
			for {
				select {
				case res := <-c.rxq:
					if len(res.msg) > maxMsg || (res.err == nil && len(res.msg) == 0) {
						t.Fatalf("delivered %d bytes, err %v", len(res.msg), res.err)
					}
					continue
				default:
				}
				break
			}
		}
	})
}
