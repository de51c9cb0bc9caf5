package ens

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/sync/mqttlimit"
)

// Feed takes declarations published on a topic of the post's local MQTT
// broker (a customs system or an integration bus at the post). Each
// message is one declaration, XML or JSON; the answer is published on
// Topic + "/result" with the declaration's reference. The session is
// persistent and every message is checked, and recorded, before the
// broker's acknowledgement goes out, so a declaration published while the
// agent restarts is checked when it is back, never lost.
type Feed struct {
	Broker       string // tcp://127.0.0.1:1883
	Topic        string // e.g. post/ens/in
	ClientID     string // default "borderpost-ens"
	Username     string
	Password     string
	Checker      devices.Checker
	Device       string // default "ens-mqtt"
	Strict       bool
	Limits       Limits
	CheckTimeout time.Duration
	Log          *slog.Logger

	// beforeSubscribe, when set, runs on each connect before the
	// subscription is made (tests: the broker's kept messages arrive
	// first, as they may on a loaded machine).
	beforeSubscribe func()
}

// FeedResult is what Feed publishes on Topic + "/result" for each message.
type FeedResult struct {
	Ref    string          `json:"ref,omitempty"` // the declaration's MRN or LRN, when it was read
	Result *devices.Result `json:"result,omitempty"`
	Faults []FieldError    `json:"faults,omitempty"`
	Error  string          `json:"error,omitempty"`
}

func (f *Feed) log() *slog.Logger {
	if f.Log != nil {
		return f.Log
	}
	return slog.Default()
}

// Run subscribes and checks declarations until ctx ends.
func (f *Feed) Run(ctx context.Context) error {
	if f.Broker == "" || f.Topic == "" || strings.ContainsAny(f.Topic, "+#") {
		return fmt.Errorf("ens: feed: set broker and a topic without wildcards")
	}
	id := f.ClientID
	if id == "" {
		id = "borderpost-ens"
	}
	o := mqtt.NewClientOptions().AddBroker(f.Broker).SetClientID(id).SetCleanSession(false).
		SetOrderMatters(true). // declarations are checked one after another, in order
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(10 * time.Second).SetKeepAlive(15 * time.Second)
	if f.Username != "" {
		o.SetUsername(f.Username).SetPassword(f.Password)
	}
	// A message over the declaration limit is refused before it is read
	// into memory (mqttlimit empties it as it streams in); room is left
	// for the topic and packet identifier.
	guard := &mqttlimit.Opener{MaxPacket: int(min(f.Limits.withDefaults().MaxBytes, 256<<20)) + 2 + 65535 + 2,
		OnRefused: func(r mqttlimit.Refused) {
			f.log().Warn("ens: feed: declaration refused before it was read: over the size limit", "bytes", r.Size)
		}}
	o.SetCustomOpenConnectionFn(guard.Open)
	// The handler commits the check before returning, and the PUBACK
	// follows.
	declaration := func(c mqtt.Client, m mqtt.Message) {
		res := FeedResult{Error: ErrTooLarge.Error()}
		if len(m.Payload()) > 0 || !guard.Emptied(m.Topic()) {
			res = f.handle(ctx, m.Payload())
		}
		b, _ := json.Marshal(res)
		c.Publish(f.Topic+"/result", 1, false, b)
	}
	// The session is persistent: the broker sends what it kept for the
	// feed as soon as it reconnects, before the subscription below is
	// made again. paho hands such a message to the default handler, and
	// without one never acknowledges it, so a declaration sent while the
	// feed was down waited for the next reconnect.
	o.SetDefaultPublishHandler(func(c mqtt.Client, m mqtt.Message) {
		if m.Topic() != f.Topic {
			f.log().Warn("ens: feed: message on a topic it does not read, dropped", "topic", m.Topic())
			return
		}
		declaration(c, m)
	})
	o.SetOnConnectHandler(func(c mqtt.Client) {
		// Subscribe on every connect (FIELD-NOTES: ResumeSubs off).
		if f.beforeSubscribe != nil {
			f.beforeSubscribe()
		}
		c.Subscribe(f.Topic, 1, declaration)
		f.log().Info("ens: feed subscribed", "topic", f.Topic)
	})
	c := mqtt.NewClient(o)
	c.Connect()
	<-ctx.Done()
	c.Disconnect(250)
	return nil
}

// handle checks one message and says what became of it.
func (f *Feed) handle(ctx context.Context, payload []byte) FeedResult {
	lim := f.Limits.withDefaults()
	if int64(len(payload)) > lim.MaxBytes {
		return FeedResult{Error: ErrTooLarge.Error()}
	}
	media := MediaJSON
	if t := bytes.TrimLeft(payload, " \t\r\n\ufeff"); len(t) > 0 && t[0] == '<' {
		media = MediaXML
	}
	device := f.Device
	if device == "" {
		device = "ens-mqtt"
	}
	out, err := checkDeclaration(ctx, bytes.NewReader(payload), media, lim, f.Strict, f.Checker, device, f.CheckTimeout)
	switch {
	case errors.Is(err, ErrChecker):
		f.log().Error("ens: feed: checker failed", "check", out.check.ID, "err", err)
		return FeedResult{Ref: out.check.ID, Error: "the check could not be completed; it may have been recorded"}
	case err != nil:
		f.log().Info("ens: feed: declaration refused", "reason", refusalKind(err))
		var ve *ValidationError
		if errors.As(err, &ve) {
			return FeedResult{Error: "declaration refused", Faults: ve.Errors}
		}
		return FeedResult{Error: err.Error()}
	}
	return FeedResult{Ref: out.check.ID, Result: &out.result, Faults: out.faultList()}
}

// refusalKind names a refusal for logs without quoting the input.
func refusalKind(err error) string {
	for _, e := range []error{ErrTooLarge, ErrEncoding, ErrControlChar, ErrDoctype, ErrTooDeep, ErrTooManyTokens, ErrSyntax, ErrFormat, ErrSchema, ErrValue} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "invalid declaration"
}
