package logfwd

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// cutRoom is what cutRecord keeps free of a message's limit for the
// attributes that say what it cut.
const cutRoom = 256

// cutRecord makes a record that does not fit in one message (of at most
// limit bytes) fit: its time, level and message stay, and its attributes
// in order while they fit; a string that does not fit is cut (ending in
// "…"), a group is cut the same way inside, anything else that does not
// fit is left out and its key named in attrs_cut (a string of keys,
// comma-separated, cut itself when long). record_bytes gives the
// record's size and record_cut_bytes how much of it was cut. A record
// that is not in a JSON handler's shape keeps its first bytes, as text.
// ok is false when even that does not fit (limit is tiny).
func cutRecord(b []byte, limit int) (out []byte, ok bool) {
	budget := limit - cutRoom
	if budget <= 0 {
		return nil, false
	}
	var rec slog.Record
	if r, decoded := DecodeLine(b); decoded {
		// Escapes make a message's JSON up to 6 times its length.
		for n := budget / 4; ; n /= 2 {
			rec = slog.NewRecord(r.Time, r.Level, cutString(r.Message, n), 0)
			if n == 0 || len(encode(rec)) <= budget/2 {
				break
			}
		}
		var attrs []slog.Attr
		r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
		c := cutter{left: budget - len(encode(rec))}
		rec.AddAttrs(c.attrs(attrs)...)
		if len(c.dropped) > 0 {
			note := cutter{left: cutRoom / 2}
			if a, ok := note.cutStringAttr(slog.String("attrs_cut", strings.Join(c.dropped, ","))); ok {
				rec.AddAttrs(a)
			}
		}
	} else {
		rec = slog.NewRecord(time.Now(), slog.LevelWarn, "log record cut: not in a JSON handler's shape", 0)
		c := cutter{left: budget - len(encode(rec))}
		if a, ok := c.cutStringAttr(slog.String("record_head", string(b))); ok {
			rec.AddAttrs(a)
		}
	}
	rec.AddAttrs(slog.Int("record_bytes", len(b)))
	out = encode(rec)
	rec.AddAttrs(slog.Int("record_cut_bytes", len(b)-len(out)))
	out = encode(rec)
	return out, len(out) <= limit
}

// cutter keeps attributes while they fit in left bytes.
type cutter struct {
	left    int
	dropped []string // keys left out, a group's as group.key
	prefix  string
}

func (c *cutter) attrs(as []slog.Attr) []slog.Attr {
	// The small ones first, so that one large value does not push out
	// what follows it; then what is left goes to the large ones, in order.
	sizes := make([]int, len(as))
	order := make([]int, len(as))
	for i, a := range as {
		sizes[i], order[i] = attrSize(a), i
	}
	slices.SortStableFunc(order, func(i, j int) int { return sizes[i] - sizes[j] })
	fits := make([]bool, len(as))
	for _, i := range order {
		if sizes[i] > c.left {
			break
		}
		fits[i], c.left = true, c.left-sizes[i]
	}
	kept := make([]slog.Attr, 0, len(as))
	for i, a := range as {
		if fits[i] {
			kept = append(kept, a)
			continue
		}
		switch a.Value.Kind() {
		case slog.KindString:
			if cut, ok := c.cutStringAttr(a); ok {
				kept = append(kept, cut)
				continue
			}
		case slog.KindGroup:
			if room := c.left - len(a.Key) - 8; room > 0 { // ,"key":{}
				inner := cutter{left: room, prefix: c.prefix + a.Key + "."}
				g := inner.attrs(a.Value.Group())
				c.dropped = append(c.dropped, inner.dropped...)
				if len(g) > 0 {
					cut := slog.Attr{Key: a.Key, Value: slog.GroupValue(g...)}
					kept, c.left = append(kept, cut), c.left-attrSize(cut)
					continue
				}
			}
		}
		c.dropped = append(c.dropped, c.prefix+a.Key)
	}
	return kept
}

// cutStringAttr cuts a's string to fit what is left, if anything worth
// keeping does: escapes make the JSON longer than the string, so it is cut
// again, shorter, until it fits.
func (c *cutter) cutStringAttr(a slog.Attr) (slog.Attr, bool) {
	s := a.Value.String()
	n := c.left - attrSize(slog.String(a.Key, "…"))
	for n > 16 {
		cut := slog.String(a.Key, cutString(s, n))
		if size := attrSize(cut); size <= c.left {
			c.left -= size
			return cut, true
		}
		n /= 2
	}
	return a, false
}

// cutString is s cut to at most n bytes and a "…", not in the middle of a
// character; s itself when it is not longer.
func cutString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

var emptyRecordSize = len(encode(slog.NewRecord(time.Time{}, slog.LevelInfo, "", 0)))

// attrSize is what a adds to a record in JSON, its comma included.
func attrSize(a slog.Attr) int {
	r := slog.NewRecord(time.Time{}, slog.LevelInfo, "", 0)
	r.AddAttrs(a)
	return len(encode(r)) - emptyRecordSize
}

// encode is r as the JSON handler writes it, without the newline.
func encode(r slog.Record) []byte {
	var buf bytes.Buffer
	_ = slog.NewJSONHandler(&buf, nil).Handle(context.Background(), r)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
