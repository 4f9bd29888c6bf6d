package uds_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bgkit/bgkit/uds"
)

// reply returns a handler that always returns resp and err.
func reply(resp string, err error) uds.HandlerFunc {
	return func(context.Context, []byte) ([]byte, error) {
		if resp == "" {
			return nil, err
		}
		return mustHex(resp), err
	}
}

// decodeWith returns a handler that decodes the request into m and answers
// resp, so that codec errors reach the dispatcher.
func decodeWith(m interface{ UnmarshalBinary([]byte) error }, resp string) uds.HandlerFunc {
	return func(_ context.Context, req []byte) ([]byte, error) {
		if err := m.UnmarshalBinary(req); err != nil {
			return nil, err
		}
		return mustHex(resp), nil
	}
}

func TestServerServeMessage(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(s *uds.Server)
		req    string
		want   string // "" for no response
		wantOK bool
	}{
		{name: "empty request", req: "", want: "7F 00 13", wantOK: true},
		{name: "unknown service", req: "BA 01 02", want: "7F BA 11", wantOK: true},
		{name: "response id as request", req: "50 03", want: "7F 50 11", wantOK: true},
		{name: "tester present", req: "3E 00", want: "7E 00", wantOK: true},
		{name: "tester present suppressed", req: "3E 80", wantOK: false},
		{name: "tester present unknown sub-function", req: "3E 01", want: "7F 3E 12", wantOK: true},
		{name: "tester present unknown sub-function suppressed", req: "3E 81", want: "7F 3E 12", wantOK: true},
		{name: "tester present without sub-function", req: "3E", want: "7F 3E 13", wantOK: true},
		{name: "tester present too long", req: "3E 00 00", want: "7F 3E 13", wantOK: true},
		{name: "tester present removed", setup: func(s *uds.Server) { s.Handle(uds.SIDTesterPresent, nil) },
			req: "3E 00", want: "7F 3E 11", wantOK: true},
		{name: "tester present sub-function removed", setup: func(s *uds.Server) { s.HandleSubFunction(uds.SIDTesterPresent, 0, nil) },
			req: "3E 00", want: "7F 3E 11", wantOK: true},
		{name: "sub-function handler", setup: func(s *uds.Server) {
			s.HandleSubFunction(uds.SIDDiagnosticSessionControl, 0x03, reply("50 03 00 32 01 F4", nil))
		}, req: "10 03", want: "50 03 00 32 01 F4", wantOK: true},
		{name: "unknown sub-function", setup: func(s *uds.Server) {
			s.HandleSubFunction(uds.SIDDiagnosticSessionControl, 0x03, reply("50 03 00 32 01 F4", nil))
		}, req: "10 02", want: "7F 10 12", wantOK: true},
		{name: "missing sub-function", setup: func(s *uds.Server) {
			s.HandleSubFunction(uds.SIDDiagnosticSessionControl, 0x03, reply("50 03 00 32 01 F4", nil))
		}, req: "10", want: "7F 10 13", wantOK: true},
		{name: "suppressed positive response", setup: func(s *uds.Server) {
			s.HandleSubFunction(uds.SIDDiagnosticSessionControl, 0x03, reply("50 03 00 32 01 F4", nil))
		}, req: "10 83", wantOK: false},
		{name: "suppressed request, negative response sent", setup: func(s *uds.Server) {
			s.HandleSubFunction(uds.SIDDiagnosticSessionControl, 0x03, reply("", uds.NRCConditionsNotCorrect))
		}, req: "10 83", want: "7F 10 22", wantOK: true},
		{name: "service handler takes other sub-functions", setup: func(s *uds.Server) {
			s.HandleSubFunction(uds.SIDRoutineControl, 0x01, reply("71 01 FF 00", nil))
			s.Handle(uds.SIDRoutineControl, reply("71 03 FF 00", nil))
		}, req: "31 03 FF 00", want: "71 03 FF 00", wantOK: true},
		{name: "sub-function handler before service handler", setup: func(s *uds.Server) {
			s.Handle(uds.SIDRoutineControl, reply("71 03 FF 00", nil))
			s.HandleSubFunction(uds.SIDRoutineControl, 0x01, reply("71 01 FF 00", nil))
		}, req: "31 01 FF 00", want: "71 01 FF 00", wantOK: true},
		{name: "handler returns NRC", setup: func(s *uds.Server) {
			s.Handle(uds.SIDReadDataByIdentifier, reply("", uds.NRCRequestOutOfRange))
		}, req: "22 F1 90", want: "7F 22 31", wantOK: true},
		{name: "handler returns wrapped NRC", setup: func(s *uds.Server) {
			s.Handle(uds.SIDReadDataByIdentifier, reply("", fmt.Errorf("door open: %w", uds.NRCConditionsNotCorrect)))
		}, req: "22 F1 90", want: "7F 22 22", wantOK: true},
		{name: "handler returns negative response error", setup: func(s *uds.Server) {
			s.Handle(uds.SIDReadDataByIdentifier, reply("", &uds.NegativeResponseError{SID: 0x10, NRC: uds.NRCSecurityAccessDenied}))
		}, req: "22 F1 90", want: "7F 22 33", wantOK: true},
		{name: "handler returns other error", setup: func(s *uds.Server) {
			s.Handle(uds.SIDReadDataByIdentifier, reply("", errors.New("disk on fire")))
		}, req: "22 F1 90", want: "7F 22 10", wantOK: true},
		{name: "handler error wins over response", setup: func(s *uds.Server) {
			s.Handle(uds.SIDReadDataByIdentifier, reply("62 F1 90 00", uds.NRCBusyRepeatRequest))
		}, req: "22 F1 90", want: "7F 22 21", wantOK: true},
		{name: "truncated request", setup: func(s *uds.Server) {
			s.Handle(uds.SIDWriteDataByIdentifier, decodeWith(new(uds.WriteDataByIdentifierRequest), "6E F1 90"))
		}, req: "2E F1 90", want: "7F 2E 13", wantOK: true},
		{name: "oversized request", setup: func(s *uds.Server) {
			s.Handle(uds.SIDECUReset, decodeWith(new(uds.ECUResetRequest), "51 01"))
		}, req: "11 01 00", want: "7F 11 13", wantOK: true},
		{name: "invalid value", setup: func(s *uds.Server) {
			s.Handle(uds.SIDSecurityAccess, decodeWith(new(uds.SecurityAccessRequest), "67 01"))
		}, req: "27 7F", want: "7F 27 31", wantOK: true},
		{name: "unsupported report type", setup: func(s *uds.Server) {
			s.Handle(uds.SIDReadDTCInformation, decodeWith(new(uds.ReadDTCInformationRequest), "59 0A FF"))
		}, req: "19 05 FF", want: "7F 19 12", wantOK: true},
		{name: "handler silent", setup: func(s *uds.Server) {
			s.Handle(uds.SIDReadDataByIdentifier, reply("", nil))
		}, req: "22 F1 90", wantOK: false},
		{name: "malformed response passed on", setup: func(s *uds.Server) {
			s.Handle(uds.SIDReadDataByIdentifier, reply("62", nil))
		}, req: "22 F1 90", want: "62", wantOK: true},
		{name: "other response not suppressed", setup: func(s *uds.Server) {
			s.Handle(uds.SIDRoutineControl, reply("7F 31 22", nil))
		}, req: "31 81 FF 00", want: "7F 31 22", wantOK: true},
		{name: "response pending unavailable", setup: func(s *uds.Server) {
			s.Handle(uds.SIDRoutineControl, func(ctx context.Context, _ []byte) ([]byte, error) {
				if err := uds.ResponsePending(ctx); !errors.Is(err, uds.ErrPendingUnsupported) {
					return nil, fmt.Errorf("ResponsePending = %v", err)
				}
				return nil, uds.NRCBusyRepeatRequest
			})
		}, req: "31 01 FF 00", want: "7F 31 21", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := uds.NewServer()
			if tt.setup != nil {
				tt.setup(s)
			}
			resp, ok := s.ServeMessage(t.Context(), unhex(t, tt.req))
			if ok != tt.wantOK || !bytes.Equal(resp, unhex(t, tt.want)) {
				t.Errorf("ServeMessage(%s) = % X, %v; want %s, %v", tt.req, resp, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestServerHandleSubFunctionPanics(t *testing.T) {
	tests := []struct {
		name string
		sid  uds.SID
		sub  byte
	}{
		{name: "service without sub-function", sid: uds.SIDReadDataByIdentifier, sub: 0x01},
		{name: "sub-function bit 7", sid: uds.SIDDiagnosticSessionControl, sub: 0x81},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("HandleSubFunction did not panic")
				}
			}()
			uds.NewServer().HandleSubFunction(tt.sid, tt.sub, reply("", nil))
		})
	}
}

// TestServerResponsePending checks the messages a slow handler produces on
// the wire: response pending, then the final response even though the
// request suppressed it.
func TestServerResponsePending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cl, srv := newPipe()
		s := uds.NewServer()
		s.Handle(uds.SIDRoutineControl, func(ctx context.Context, req []byte) ([]byte, error) {
			for range 3 {
				if err := uds.ResponsePending(ctx); err != nil {
					return nil, err
				}
				time.Sleep(time.Second)
			}
			return []byte{0x71, req[1] &^ 0x80, req[2], req[3]}, nil
		})
		serve(t, s, srv)
		start := time.Now()
		if err := cl.Send(t.Context(), unhex(t, "31 81 FF 00")); err != nil {
			t.Fatal(err)
		}
		want := []struct {
			msg string
			at  time.Duration
		}{{"7F 31 78", 0}, {"7F 31 78", time.Second}, {"7F 31 78", 2 * time.Second}, {"71 01 FF 00", 3 * time.Second}}
		for _, w := range want {
			msg, err := cl.Recv(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if spaced(msg) != w.msg || time.Since(start) != w.at {
				t.Errorf("received %s at %v, want %s at %v", spaced(msg), time.Since(start), w.msg, w.at)
			}
		}
		// Through a client, the same exchange succeeds within P2*.
		c := uds.NewClient(cl)
		resp, err := c.RoutineControl(t.Context(), uds.RoutineControlRequest{Type: uds.StartRoutine, RoutineID: 0xFF00, SuppressPositiveResponse: true})
		if err != nil || resp == nil || resp.RoutineID != 0xFF00 {
			t.Errorf("RoutineControl = %+v, %v", resp, err)
		}
	})
}

func TestServerServeEnds(t *testing.T) {
	t.Run("context canceled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, srv := newPipe()
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(time.Second, cancel)
			if err := uds.NewServer().Serve(ctx, srv); !errors.Is(err, context.Canceled) {
				t.Errorf("Serve = %v, want context.Canceled", err)
			}
		})
	})
	t.Run("transport fails on receive", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, srv := newPipe()
			time.AfterFunc(time.Second, func() { srv.Close() })
			if err := uds.NewServer().Serve(t.Context(), srv); !errors.Is(err, errPipeClosed) {
				t.Errorf("Serve = %v, want errPipeClosed", err)
			}
		})
	})
	t.Run("transport fails on send", func(t *testing.T) {
		errBroken := errors.New("broken")
		tr := &oneShotTransport{req: []byte{0x3E, 0x00}, sendErr: errBroken}
		if err := uds.NewServer().Serve(t.Context(), tr); !errors.Is(err, errBroken) {
			t.Errorf("Serve = %v, want errBroken", err)
		}
	})
}

// oneShotTransport delivers one request, then fails Send with sendErr.
type oneShotTransport struct {
	req     []byte
	sendErr error
}

func (o *oneShotTransport) Send(context.Context, []byte) error { return o.sendErr }

func (o *oneShotTransport) Recv(ctx context.Context) ([]byte, error) {
	if o.req == nil {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	req := o.req
	o.req = nil
	return req, nil
}

// TestServerHandlerPanics: a handler that panics is answered
// generalReject, the panic is logged with its stack, and the server goes
// on serving: one bad handler does not take the simulated ECU down.
func TestServerHandlerPanics(t *testing.T) {
	var logged bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	defer slog.SetDefault(old)
	s := uds.NewServer()
	s.Handle(uds.SIDReadDataByIdentifier, func(_ context.Context, req []byte) ([]byte, error) {
		if req[2] == 0x90 {
			var m map[string]int
			m["boom"]++ // a nil map: panics
		}
		return []byte{0x62, req[1], req[2], 0x01}, nil
	})
	resp, ok := s.ServeMessage(t.Context(), unhex(t, "22 F1 90"))
	if !ok || spaced(resp) != "7F 22 10" {
		t.Fatalf("the panicking request: %q %v, want 7F 22 10", spaced(resp), ok)
	}
	resp, ok = s.ServeMessage(t.Context(), unhex(t, "22 F1 91"))
	if !ok || spaced(resp) != "62 F1 91 01" {
		t.Fatalf("the next request: %q %v", spaced(resp), ok)
	}
	for _, want := range []string{"level=ERROR", "uds: handler panicked", "sid=0x22", "assignment to entry in nil map", "server_test.go"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log %q lacks %q", logged.String(), want)
		}
	}
	// Over a transport, Serve answers it and serves the next request.
	synctest.Test(t, func(t *testing.T) {
		cl, srv := newPipe()
		serve(t, s, srv)
		for _, tc := range []struct{ req, want string }{{"22 F1 90", "7F 22 10"}, {"22 F1 91", "62 F1 91 01"}} {
			if err := cl.Send(t.Context(), unhex(t, tc.req)); err != nil {
				t.Fatal(err)
			}
			msg, err := cl.Recv(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if spaced(msg) != tc.want {
				t.Errorf("%s: %s, want %s", tc.req, spaced(msg), tc.want)
			}
		}
	})
}

// SetServiceCheck runs for a supported service before the length and the
// sub-function (ISO 14229-1 Figure 5 before Figure 6), not for an
// unsupported one; nil removes it.
func TestServerServiceCheck(t *testing.T) {
	s := uds.NewServer()
	s.HandleSubFunction(uds.SIDSecurityAccess, 0x01, reply("67 01 00", nil))
	var asked []uds.SID
	s.SetServiceCheck(func(sid uds.SID) uds.NRC {
		asked = append(asked, sid)
		if sid == uds.SIDSecurityAccess {
			return uds.NRCServiceNotSupportedInActiveSession
		}
		return 0
	})
	for _, c := range []struct{ req, want string }{
		{"27", "7F 27 7F"},    // before the minimum length (0x13)
		{"27 05", "7F 27 7F"}, // before the sub-function (0x12)
		{"27 01", "7F 27 7F"},
		{"3E 00", "7E 00"},       // checked, let on
		{"22 F1 90", "7F 22 11"}, // not supported: not checked
	} {
		resp, ok := s.ServeMessage(context.Background(), unhex(t, c.req))
		if got := fmt.Sprintf("% X", resp); !ok || got != c.want {
			t.Errorf("%s → %s (sent %v), want %s", c.req, got, ok, c.want)
		}
	}
	if fmt.Sprint(asked) != fmt.Sprint([]uds.SID{uds.SIDSecurityAccess, uds.SIDSecurityAccess, uds.SIDSecurityAccess, uds.SIDTesterPresent}) {
		t.Errorf("checked %v", asked)
	}
	s.SetServiceCheck(nil)
	if resp, _ := s.ServeMessage(context.Background(), []byte{0x27}); fmt.Sprintf("% X", resp) != "7F 27 13" {
		t.Errorf("27 without the check → % X, want 7F 27 13", resp)
	}
}
