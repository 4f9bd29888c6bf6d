package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/bgkit/bgkit/embeddednats"
)

// Subjects on which the process owning an embedded server grants and
// revokes child credentials for other processes on its bus (`bgkit run`
// against the bus of `bgkit up`). Only the administrator may publish them:
// children's permissions do not include bgkit.>.
const (
	GrantSubject  = "bgkit.bus.grant"
	RevokeSubject = "bgkit.bus.revoke"
)

type grantRequest struct {
	Name string `json:"name"`
}

// serveGrants answers GrantSubject and RevokeSubject for b's embedded
// server, on the administrator's in-process connection.
func (b *Bus) serveGrants() error {
	reply := func(m *nats.Msg, v any, err error) { Respond(m, v, grantCode(err), err) }
	grant, err := b.nc.Subscribe(GrantSubject, func(m *nats.Msg) {
		var req grantRequest
		if err := json.Unmarshal(m.Data, &req); err != nil {
			reply(m, nil, fmt.Errorf("%w: bad grant request: %v", ErrBadName, err))
			return
		}
		c, err := b.Grant(req.Name)
		reply(m, c, err)
	})
	if err != nil {
		return err
	}
	revoke, err := b.nc.Subscribe(RevokeSubject, func(m *nats.Msg) {
		var req grantRequest
		if err := json.Unmarshal(m.Data, &req); err != nil || ValidateName(req.Name) != nil {
			reply(m, nil, fmt.Errorf("%w: bad revoke request", ErrBadName))
			return
		}
		b.Revoke(req.Name)
		reply(m, struct{}{}, nil)
	})
	if err != nil {
		_ = grant.Unsubscribe()
		return err
	}
	// The calls StopCalls diverts are answered 503 on the log connection
	// (LogConn, subscribeRefuser), not here: children may publish there.
	b.grantSubs = []*nats.Subscription{grant, revoke}
	// Served once Start returns: a joiner that asks at once must not find
	// nobody (see remoteGrant).
	return b.nc.Flush()
}

// grantCode is the Nats-Service-Error-Code a grant or revoke answers err
// with: 409 a name already granted, 400 a bad name or request, else 500.
func grantCode(err error) int {
	switch {
	case errors.Is(err, ErrGranted):
		return 409
	case errors.Is(err, ErrBadName):
		return 400
	}
	return 500
}

// remoteGrant asks the owner of an embedded server (if this bus is one)
// for child credentials. ok is false when nobody grants on this bus: an
// external deployment, where the child shares this process's credentials.
func (b *Bus) remoteGrant(name string) (c Credentials, ok bool, err error) {
	data, _ := json.Marshal(grantRequest{Name: name})
	m, err := Request(context.Background(), b.nc, &nats.Msg{Subject: GrantSubject, Data: data}, 5*time.Second)
	switch {
	case errors.Is(err, nats.ErrNoResponders) && b.nc.ConnectedServerName() == embeddednats.ServerName:
		// An embedded server whose owner does not grant (it is stopping):
		// never hand a child this process's administrator credentials.
		return Credentials{}, true, fmt.Errorf("%w: nobody grants on the embedded bus", ErrNoGrant)
	case errors.Is(err, nats.ErrNoResponders):
		return Credentials{}, false, nil
	case err != nil:
		return Credentials{}, false, err
	}
	if code, msg, failed := ReplyError(m); failed {
		if code == 409 {
			return Credentials{}, true, fmt.Errorf("%w: %s", ErrGranted, msg)
		}
		return Credentials{}, true, errors.New(msg)
	}
	if err := json.Unmarshal(m.Data, &c); err != nil {
		return Credentials{}, true, fmt.Errorf("bad grant reply: %w", err)
	}
	// Reach the server the way this process does, without the user info of
	// its URL: that would win over the child's own user.
	c.URL = redact(b.creds.URL)
	// The TLS material and such are this process's.
	c.TLSCert, c.TLSKey, c.TLSCA = b.creds.TLSCert, b.creds.TLSKey, b.creds.TLSCA
	return c, true, nil
}
