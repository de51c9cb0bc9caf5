// Package sync owns everything that crosses the network between a post and
// central: the MQTT session (paho.mqtt.golang behind the small Link type),
// the wire format of deltas, heads, hits, acknowledgements and status, the
// Ed25519 signatures on watch-list changes, gap detection and resync,
// scopes (the rule that selects a post's alerts, the signed assignment,
// one stream per scope, the broker ACL that keeps scopes apart), and the
// store-and-forward of hits from the outbox.
//
// It never applies a change it cannot verify, never drops a hit that central
// has not acknowledged on the application topic (a paho token or a broker
// PUBACK proves nothing), and never logs personal data. It imports store and
// nothing else of the project.
package sync
