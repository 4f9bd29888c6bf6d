package canrecorder

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/hexid"
)

func TestTail(t *testing.T) {
	tests := []struct {
		name   string
		args   Args
		filter TailFilter
		want   []string
	}{
		{name: "all", want: []string{"123#01", "7E8#02", "1ABCDEF0#03", "7E0#04"}},
		{name: "ids", filter: TailFilter{IDs: []hexid.ID{0x7E8, 0x1ABCDEF0}}, want: []string{"7E8#02", "1ABCDEF0#03"}},
		{name: "candump filter", filter: TailFilter{Filters: []string{"7E0:7F0"}}, want: []string{"7E8#02", "7E0#04"}},
		{name: "ids and filter", filter: TailFilter{Filters: []string{"123:7FF"}, IDs: []hexid.ID{0x7E0}}, want: []string{"123#01", "7E0#04"}},
		{name: "after the recorder's filter", args: Args{IDs: []hexid.ID{0x123, 0x7E0}}, want: []string{"123#01", "7E0#04"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bgkittest.Bus(t)
			tt.args.Path = filepath.Join(t.TempDir(), "rec.log")
			s := serve(t, b, tt.args)
			node := openNode(t, b)
			ctx := testCtx(t)
			got := make(chan []string, 1)
			go func() {
				var frames []string
				for fr, err := range s.c.Tail(ctx, tt.filter) {
					if err != nil {
						t.Errorf("tail: %v", err)
						break
					}
					if frames = append(frames, fr.String()); len(frames) == len(tt.want) {
						break
					}
				}
				got <- frames
			}()
			s.waitTails(t, 1)
			send(t, node, mustFrames(t, "123#01", "7E8#02", "1ABCDEF0#03", "7E0#04", "7FF#FF")...)
			if frames := <-got; !slices.Equal(frames, tt.want) {
				t.Fatalf("tail gave %v, want %v", frames, tt.want)
			}
			s.waitTails(t, 0) // leaving the loop ended the tail

		})
	}
}

func TestTailBadFilter(t *testing.T) {
	b := bgkittest.Bus(t)
	s := serve(t, b, Args{Path: filepath.Join(t.TempDir(), "rec.log")})
	for _, err := range s.c.Tail(testCtx(t), TailFilter{Filters: []string{"123"}}) {
		if !errors.Is(err, controller.ErrBadRequest) {
			t.Fatalf("err = %v, want a 400", err)
		}
		return
	}
	t.Fatal("no error")
}
