package sync

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/borderpost/borderpost/sync/mqttlimit"
)

// Handler processes one incoming message. Messages of one topic are
// handled one at a time, in the order they arrived; topics run side by
// side. It runs on its own goroutine and
// must commit what it needs to disk before returning: the broker's PUBACK
// goes out when it returns.
type Handler func(topic string, payload []byte)

// LinkConfig describes one MQTT session.
type LinkConfig struct {
	Broker    string        // tcp://host:port, ssl://host:port
	ClientID  string        // the agent ID: stable, unique per broker
	Username  string        // optional
	Password  string        // optional
	TLS       *tls.Config   // for ssl:// brokers; a client certificate in production
	KeepAlive time.Duration // default 10s
	// Subscriptions are (re)made with QoS 1 on every connect.
	Subscriptions map[string]Handler
	// WillTopic and WillPayload form the retained last will, if set.
	WillTopic   string
	WillPayload []byte
	// OnConnect runs after every (re)connect, after subscribing.
	OnConnect func()
	// OnLost runs when the connection drops.
	OnLost func(error)
	// Transient asks for a clean session: nothing is queued for the client
	// while it is away and the broker forgets it when it leaves. For
	// observers only; agents and central need their persistent sessions.
	Transient bool
	// MaxMessage bounds an incoming PUBLISH (topic and payload) in bytes;
	// a larger one is never read into memory, never reaches a handler, and
	// is acknowledged so the broker does not resend it. Zero means
	// mqttlimit.DefaultMaxPacket (16 MiB).
	MaxMessage int
	// OnOversized runs, on the connection's reading goroutine, for each
	// message refused for its size; it must not block.
	OnOversized func(topic string, size int)
	Logger      *slog.Logger
}

// connectRetry is how long the link waits between attempts to reach an
// unreachable broker.
const connectRetry = time.Second

// Link is a persistent MQTT session that reconnects by itself. It hides
// paho so that a test double or an MQTT 5 client can stand in.
type Link struct {
	c   mqtt.Client
	log *slog.Logger
	// connecting is Connect's token: it completes once paho's connecting
	// goroutine has ended, connected or given up after Close.
	connecting mqtt.Token
	limit      *mqttlimit.Opener // opens the connections; refuses oversized messages
	// unreachable counts failed attempts to reach the broker since the
	// last success, so that the first is logged at once and then every
	// unreachableLogEvery, not every second.
	unreachable atomic.Int64

	mu   gosync.Mutex
	subs map[string]subscription // made again at every connect
	// order is the order subscriptions were asked for, and the order they
	// are made again at a connect: a session subscribes its own reply
	// topics before the head that may make it ask for them, and a reply
	// published before its subscription exists is lost.
	order []string
	gone  map[string]bool // dropped while down: the broker's session may still hold them
	// queues hold the messages of each topic name for its handler, so
	// that a topic's messages are handled in the order they arrived (a
	// snapshot's manifest before its chunks) while topics run side by side.
	queues map[string]chan delivery
	done   chan struct{} // closed by Close: queue workers stop
}

// subscription is one topic filter the link keeps subscribed, with the
// QoS it asks for.
type subscription struct {
	h   Handler
	qos byte
}

// delivery is one message waiting for its handler.
type delivery struct {
	h Handler
	m mqtt.Message
}

// topicQueue is how many messages of one topic may wait for their
// handler before the client stops reading from the broker.
const topicQueue = 256

// dispatch hands a message to its topic's worker, started on the topic's
// first message. Called in arrival order by the MQTT client.
func (l *Link) dispatch(h Handler, m mqtt.Message) {
	topic := m.Topic()
	l.mu.Lock()
	q := l.queues[topic]
	if q == nil {
		q = make(chan delivery, topicQueue)
		l.queues[topic] = q
		go func() {
			for {
				select {
				case d := <-q:
					d.h(d.m.Topic(), d.m.Payload())
					d.m.Ack() // the broker's PUBACK once handled, as Handler says
				case <-l.done:
					return
				}
			}
		}()
	}
	l.mu.Unlock()
	select {
	case q <- delivery{h, m}:
	case <-l.done:
	}
}

// unreachableLogEvery is how many failed attempts to reach the broker
// (one a second) pass between two warnings.
const unreachableLogEvery = 30

// open opens a connection to the broker, and says so when it cannot: an
// agent that cannot reach central must not look healthy and silent.
func (l *Link) open(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	conn, err := l.limit.Open(uri, o)
	if err != nil {
		if n := l.unreachable.Add(1); n == 1 || n%unreachableLogEvery == 0 {
			l.log.Warn("cannot reach the MQTT broker; retrying every second (hits wait in the outbox)",
				"broker", uri.Redacted(), "attempts", n, "err", err)
		}
		return nil, err
	}
	if n := l.unreachable.Swap(0); n > 0 {
		l.log.Info("MQTT broker reached", "broker", uri.Redacted(), "after_attempts", n)
	}
	return conn, nil
}

// Dial builds a link and starts connecting; see NewLink and Connect.
func Dial(cfg LinkConfig) (*Link, error) {
	l, err := NewLink(cfg)
	if err != nil {
		return nil, err
	}
	l.Connect()
	return l, nil
}

// NewLink builds a link without connecting, so that the caller can finish
// wiring what OnConnect and the handlers use before the first message.
func NewLink(cfg LinkConfig) (*Link, error) {
	if _, err := url.Parse(cfg.Broker); err != nil || cfg.Broker == "" {
		return nil, fmt.Errorf("mqtt broker address %q: want tcp://host:port or ssl://host:port", cfg.Broker)
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("mqtt client ID is empty: set agent.id in the configuration")
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	l := &Link{log: cfg.Logger, subs: make(map[string]subscription, len(cfg.Subscriptions)),
		queues: make(map[string]chan delivery), done: make(chan struct{})}
	l.limit = &mqttlimit.Opener{MaxPacket: cfg.MaxMessage, OnRefused: func(r mqttlimit.Refused) {
		cfg.Logger.Warn("mqtt message refused: over the size limit", "topic", r.Topic, "bytes", r.Size)
		if cfg.OnOversized != nil {
			cfg.OnOversized(r.Topic, r.Size)
		}
	}}
	for t, h := range cfg.Subscriptions {
		l.subs[t] = subscription{h: h, qos: 1}
		l.order = append(l.order, t)
	}
	slices.Sort(l.order) // a map has no order; make the one it gets repeatable
	o := mqtt.NewClientOptions().
		AddBroker(cfg.Broker).
		SetClientID(cfg.ClientID).
		SetCleanSession(cfg.Transient).
		// In order: the client only queues each message for its topic's
		// worker (dispatch), so a slow handler holds up its topic alone.
		SetOrderMatters(true).
		SetAutoAckDisabled(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(connectRetry).
		SetMaxReconnectInterval(5 * time.Second).
		SetKeepAlive(cfg.KeepAlive).
		SetPingTimeout(cfg.KeepAlive / 2).
		SetConnectTimeout(5 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetResumeSubs(false).
		SetCustomOpenConnectionFn(l.open).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			if l.oversized(m) {
				m.Ack()
				return
			}
			// A persistent session delivers what was queued for it as soon
			// as it connects, before the subscriptions are made again and
			// their routes exist: route those messages here.
			if h := l.handlerFor(m.Topic()); h != nil {
				l.dispatch(h, m)
				return
			}
			m.Ack()
			cfg.Logger.Warn("message on unexpected topic dropped", "topic", m.Topic())
		})
	if cfg.Username != "" {
		o.SetUsername(cfg.Username).SetPassword(cfg.Password)
	}
	if cfg.TLS != nil {
		o.SetTLSConfig(cfg.TLS)
	}
	if cfg.WillTopic != "" {
		o.SetBinaryWill(cfg.WillTopic, cfg.WillPayload, 1, true)
	}
	o.SetOnConnectHandler(func(c mqtt.Client) {
		// Subscribe again on every connect: with a persistent session the
		// broker keeps them, but a broker that lost its state does not.
		l.mu.Lock()
		order := slices.Clone(l.order)
		subs := make([]subscription, len(order))
		for i, t := range order {
			subs[i] = l.subs[t]
		}
		gone := l.gone
		l.gone = nil
		l.mu.Unlock()
		for topic := range gone {
			l.unsubscribe(topic)
		}
		for i, topic := range order {
			l.subscribe(topic, subs[i])
		}
		cfg.Logger.Info("mqtt connected", "broker", cfg.Broker)
		if cfg.OnConnect != nil {
			go cfg.OnConnect()
		}
	})
	o.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		cfg.Logger.Warn("mqtt connection lost", "err", err)
		if cfg.OnLost != nil {
			cfg.OnLost(err)
		}
	})
	l.c = mqtt.NewClient(o)
	return l, nil
}

// Connect starts connecting and returns at once; the link keeps retrying
// until Close. Use Connected to know the state, and OnConnect to act on it.
func (l *Link) Connect() {
	l.connecting = l.c.Connect() // with ConnectRetry this completes only once connected; never wait on it here
}

// Connected reports whether the session is up now.
func (l *Link) Connected() bool { return l.c.IsConnectionOpen() }

// Publish hands a message to the client with QoS 1. It returns
// ErrNotConnected when the link is down, so the caller keeps the data; a
// nil error means only that the client took the message, not that anyone
// received it.
func (l *Link) Publish(topic string, retained bool, payload []byte) error {
	if !l.c.IsConnectionOpen() {
		return ErrNotConnected
	}
	tok := l.c.Publish(topic, 1, retained, payload)
	select {
	case <-tok.Done():
		return tok.Error()
	default:
		return nil // in flight; the application acknowledgement decides
	}
}

// oversized reports whether m is a message refused for its size (emptied
// by the connection, already logged and reported): it reaches no handler.
func (l *Link) oversized(m mqtt.Message) bool {
	return len(m.Payload()) == 0 && l.limit.Emptied(m.Topic())
}

// handlerFor returns the handler of the subscription whose filter matches
// topic, or nil.
func (l *Link) handlerFor(topic string) Handler {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.subs[topic]; ok {
		return s.h
	}
	for filter, s := range l.subs {
		if topicMatches(filter, topic) {
			return s.h
		}
	}
	return nil
}

// topicMatches reports whether an MQTT topic filter (with + and #)
// matches a topic name.
func topicMatches(filter, topic string) bool {
	f, t := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, part := range f {
		switch {
		case part == "#":
			return true
		case i >= len(t):
			return false
		case part != "+" && part != t[i]:
			return false
		}
	}
	return len(f) == len(t)
}

func (l *Link) subscribe(topic string, s subscription) { l.subscribeAfter(topic, s, 0) }

// subscribeRetryMax caps the pause between attempts at a subscription
// the broker keeps refusing or not confirming.
const subscribeRetryMax = 30 * time.Second

// subscribeAfter subscribes; failed is the pause before this attempt
// (0 for a first one), which doubles, with jitter, at each failure.
func (l *Link) subscribeAfter(topic string, s subscription, failed time.Duration) {
	tok := l.c.Subscribe(topic, s.qos, func(_ mqtt.Client, m mqtt.Message) {
		if l.oversized(m) {
			m.Ack()
			return
		}
		l.dispatch(s.h, m)
	})
	done := tok.WaitTimeout(10 * time.Second)
	err := tok.Error()
	if st, ok := tok.(*mqtt.SubscribeToken); ok && done && err == nil && st.Result()[topic] == 0x80 {
		err = fmt.Errorf("broker refused the subscription (SUBACK 0x80)")
	}
	if !done {
		err = fmt.Errorf("no SUBACK within 10s")
	}
	if err == nil {
		return
	}
	// A subscription the broker refused or never confirmed would leave the
	// session deaf to that topic until the next reconnect (a busy NATS
	// cluster times out creating the JetStream consumer): try again, less
	// and less often, each client at its own moment: a thousand agents
	// retrying every second kept a busy cluster's JetStream API failing.
	pause := min(max(2*failed, connectRetry), subscribeRetryMax)
	pause -= rand.N(pause/4 + 1)
	l.log.Error("mqtt subscribe failed; retrying", "topic", topic, "retry_in", pause.Round(time.Millisecond), "err", err)
	time.AfterFunc(pause, func() {
		l.mu.Lock()
		now, still := l.subs[topic]
		l.mu.Unlock()
		if still && l.c.IsConnectionOpen() {
			l.subscribeAfter(topic, now, pause)
		}
	})
}

// Subscribe adds a subscription with QoS 1: at once when connected, and
// again at every connect. A persistent session keeps what is published on
// it while the link is down, and the broker resends what was not
// acknowledged: for messages that must not be lost (deltas, replays,
// snapshot chunks, acks).
func (l *Link) Subscribe(topic string, h Handler) { l.add(topic, subscription{h: h, qos: 1}) }

// SubscribeLatest adds a subscription with QoS 0, for a topic whose
// retained message is the whole of what it says (the latest head, the
// assignment in force) and supersedes every earlier one. Such a message
// lost on the way (QoS 0 is neither queued while the link is down nor
// resent) is repaired by the next subscribe, which makes the broker
// deliver the retained message again: at every connect, and at every
// RefreshLatest. Handlers of these topics must take the message in force
// delivered again as a no-op.
//
// QoS 0 because a broker cluster pays for each QoS 1 subscription: NATS
// JetStream keeps a replicated consumer per QoS 1 subscription of every
// session, and a thousand agents' worth of them is more than its API
// creates in time (docs/protocol.md).
func (l *Link) SubscribeLatest(topic string, h Handler) { l.add(topic, subscription{h: h, qos: 0}) }

func (l *Link) add(topic string, s subscription) {
	l.mu.Lock()
	if _, ok := l.subs[topic]; !ok {
		l.order = append(l.order, topic)
	}
	l.subs[topic] = s
	l.mu.Unlock()
	if l.c.IsConnectionOpen() {
		l.subscribe(topic, s)
	}
}

// RefreshLatest subscribes again to every SubscribeLatest topic, in the
// order asked, so that the broker delivers their retained messages once
// more: a latest value lost on a connection that stayed up is repaired
// without waiting for a reconnect. It does nothing while the link is down
// (the connect subscribes anyway) and waits for the broker's SUBACKs.
func (l *Link) RefreshLatest() {
	if !l.c.IsConnectionOpen() {
		return
	}
	l.mu.Lock()
	var topics []string
	var subs []subscription
	for _, t := range l.order {
		if s := l.subs[t]; s.qos == 0 {
			topics, subs = append(topics, t), append(subs, s)
		}
	}
	l.mu.Unlock()
	for i, t := range topics {
		l.subscribe(t, subs[i])
	}
}

// Unsubscribe removes a subscription. Messages the broker already queued
// for it arrive on no handler and are dropped with a warning.
func (l *Link) Unsubscribe(topic string) {
	l.mu.Lock()
	delete(l.subs, topic)
	l.order = slices.DeleteFunc(l.order, func(t string) bool { return t == topic })
	if !l.c.IsConnectionOpen() {
		if l.gone == nil {
			l.gone = make(map[string]bool)
		}
		l.gone[topic] = true
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	l.unsubscribe(topic)
}

func (l *Link) unsubscribe(topic string) {
	tok := l.c.Unsubscribe(topic)
	if tok.WaitTimeout(10*time.Second) && tok.Error() != nil {
		l.log.Warn("mqtt unsubscribe failed", "topic", topic, "err", tok.Error())
	}
}

// Close disconnects cleanly, giving in-flight work a moment to finish.
// While the broker is unreachable it also waits (up to one connect retry)
// for paho's connecting goroutine to give up, so that nothing of the link
// runs once Close returns.
func (l *Link) Close() {
	l.c.Disconnect(250)
	if l.connecting != nil {
		l.connecting.WaitTimeout(connectRetry + time.Second)
	}
	l.mu.Lock()
	select {
	case <-l.done:
	default:
		close(l.done)
	}
	l.mu.Unlock()
}
