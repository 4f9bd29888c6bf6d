package bgkittest

import "testing"

func TestRaceEnv(t *testing.T) {
	tests := []struct {
		name   string
		gorace string
		want   string // "" for no setting
	}{
		{name: "unset", gorace: "", want: "GORACE=atexit_sleep_ms=0"},
		{name: "other options kept", gorace: "halt_on_error=1", want: "GORACE=halt_on_error=1 atexit_sleep_ms=0"},
		{name: "user's choice wins", gorace: "atexit_sleep_ms=500", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GORACE", tt.gorace)
			got, ok := raceEnv()
			if !raceEnabled {
				if ok {
					t.Errorf("raceEnv = %q in a binary built without -race", got)
				}
				return
			}
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("raceEnv = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}
