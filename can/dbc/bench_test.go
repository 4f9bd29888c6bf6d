package dbc_test

import (
	"testing"

	"github.com/bgkit/bgkit/can"
)

// BenchmarkDecode decodes frames of an 8-byte message (three Motorola
// signals) and of a 64-byte FD message, reporting signals/s.
func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct{ name, file, msg string }{
		{"classic", "motohawk.dbc", "ExampleMessage"},
		{"fd64", "fd64.dbc", "BigFD"},
		{"mux", "socialledge.dbc", "SENSOR_SONARS"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			db := load(b, bc.file)
			f, err := db.Encode(bc.msg, nil)
			if err != nil {
				b.Fatal(err)
			}
			m, _ := db.Message(bc.msg)
			dst := map[string]float64{}
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				n += m.DecodeInto(f.Data[:f.Len], dst)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "signals/s")
		})
	}
	b.Run("db.Decode", func(b *testing.B) {
		db := load(b, "motohawk.dbc")
		f, _ := db.Encode("ExampleMessage", nil)
		var fr can.Frame = f
		n := 0
		for b.Loop() {
			d, _ := db.Decode(fr)
			n += len(d.Signals)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "signals/s")
	})
}

// BenchmarkEncode encodes the 8-byte message from a map of values.
func BenchmarkEncode(b *testing.B) {
	db := load(b, "motohawk.dbc")
	v := map[string]float64{"Temperature": 250.55, "AverageRadius": 3.2, "Enable": 1}
	for b.Loop() {
		if _, err := db.Encode("ExampleMessage", v); err != nil {
			b.Fatal(err)
		}
	}
}
