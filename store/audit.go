package store

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditEvent names what an audit record is about.
type AuditEvent string

// The events the audit log records.
const (
	EventCheck        AuditEvent = "check"         // an arrival was checked
	EventDeltaApplied AuditEvent = "delta.applied" // a change from central was applied
	EventDeltaRefused AuditEvent = "delta.refused" // a change was refused (signature, replay, gap...)
	EventOutcome      AuditEvent = "hit.outcome"   // an officer recorded what a hit turned out to be
	EventAgentStart   AuditEvent = "agent.start"
	EventAgentStop    AuditEvent = "agent.stop"
	// EventRecordRestored: writes succeed again after checks could not be
	// recorded (disk full); Detail says how many were refused since when.
	EventRecordRestored AuditEvent = "record.restored"
	// EventReplicaRebuilt: the replica was rebuilt from a damaged file
	// (Ref); Detail says how many unsent hits were recovered.
	EventReplicaRebuilt AuditEvent = "replica.rebuilt"
	// EventAlertExpired: an alert passed its expiry and was purged from
	// disk; Ref is the alert ID.
	EventAlertExpired AuditEvent = "alert.expired"
	// EventSnapshotApplied: a snapshot became the active alert set.
	EventSnapshotApplied AuditEvent = "snapshot.applied"
	// EventSnapshotRefused: a snapshot's digest did not verify, or it was
	// aborted or abandoned by a kill; nothing of it was kept.
	EventSnapshotRefused AuditEvent = "snapshot.refused"
	// EventKeyRotationStarted, EventKeyRotated and EventKeyRotationRolledBack
	// follow a data key rotation; Ref is "from->to" key generations.
	EventKeyRotationStarted    AuditEvent = "key.rotation.started"
	EventKeyRotated            AuditEvent = "key.rotated"
	EventKeyRotationRolledBack AuditEvent = "key.rotation.rolled_back"
	// EventAuditPurged: records older than the retention period were
	// removed; Ref is the sequence of the last one removed.
	EventAuditPurged AuditEvent = "audit.purged"
	// EventAuditSealed: a log written before records were sealed was
	// sealed and chained under the audit key; Detail says whether its old,
	// unkeyed chain was intact.
	EventAuditSealed AuditEvent = "audit.sealed"
	// EventScopeAdded: the post started following a scope (Ref);
	// EventScopeDropped: a scope was dropped and its replica removed from
	// disk, Detail giving how many alerts went with it; EventScopesRefused:
	// a scope assignment failed its signature or checks.
	EventScopeAdded    AuditEvent = "scope.added"
	EventScopeDropped  AuditEvent = "scope.dropped"
	EventScopesRefused AuditEvent = "scope.assignment_refused"
	// EventHeadRefused: a watch-list head from central was refused (not
	// signed by a trusted key, not a head of this stream, or older than
	// the one in force); Ref is the topic and the head's epoch/seq.
	EventHeadRefused AuditEvent = "head.refused"
	// EventAckRefused: an acknowledgement of hits was refused (not signed,
	// not for this agent or this outbox, malformed); nothing was deleted
	// from the outbox. Ref is the topic.
	EventAckRefused AuditEvent = "ack.refused"
)

// AuditRecord is one entry of the audit log. It records checks and changes
// by reference (check ID, hit IDs, alert IDs), never the names, plates or
// numbers that were checked. Seq, Time, Prev and Hash are set by the store.
//
// On disk a record is sealed (see sealAudit): only its position, time and
// key generation are in clear, and it is chained to the record before by
// an HMAC under a key derived from the data key, so that whoever can write
// the file but does not hold the key can neither read the user and device
// names nor rewrite the log and recompute its chain.
type AuditRecord struct {
	Seq    uint64     `json:"seq"`
	Time   time.Time  `json:"time"`
	Event  AuditEvent `json:"event"`
	Ref    string     `json:"ref,omitempty"`    // check ID, delta epoch/seq, ...
	Device string     `json:"device,omitempty"` // the device or user behind the event
	Detail string     `json:"detail,omitempty"`
	Hits   []string   `json:"hits,omitempty"`   // hit IDs
	Alerts []string   `json:"alerts,omitempty"` // alert IDs hit
	Prev   string     `json:"prev"`             // chain value of the record before
	Hash   string     `json:"hash,omitempty"`   // chain value of this record
}

// Audit appends a record to the audit log in its own transaction of the
// journal.
func (r *Replica) Audit(ctx context.Context, rec AuditRecord) error {
	return r.jupdate(func(jtx *bolt.Tx) error { return r.appendJournalAudit(jtx, rec) })
}

// appendJournalAudit seals rec under the active key generation and chains
// it to the log's head inside the journal transaction jtx.
func (r *Replica) appendJournalAudit(tx *bolt.Tx, rec AuditRecord) error {
	ring := r.journalRing()
	rec.Time = r.now().UTC()
	seq, h, err := putAudit(tx, ring, rec, string(tx.Bucket(bucketMeta).Get(metaAudit)))
	if err != nil {
		return err
	}
	return setAuditHead(tx, ring, seq, h)
}

// putAudit seals rec as the next record after the one whose chain value
// is prev, at rec.Time, and returns its sequence and chain value. The head stays where
// it was: the caller moves it (setAuditHead) after the last record of its
// transaction, once for a group of checks.
func putAudit(tx *bolt.Tx, ring *keyring, rec AuditRecord, prev string) (uint64, string, error) {
	b := tx.Bucket(bucketAudit)
	b.FillPercent = 1 // records only ever go at the end: fill pages
	seq, err := b.NextSequence()
	if err != nil {
		return 0, "", err
	}
	rec.Seq = seq
	v, h, err := ring.audit.sealAudit(rec, prev)
	if err != nil {
		return 0, "", err
	}
	return seq, h, b.Put(u64(seq), v)
}

// setAuditHead records the chain value h of record seq as the log's head,
// with its position tag.
func setAuditHead(tx *bolt.Tx, ring *keyring, seq uint64, h string) error {
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(metaAuditHeadTag, []byte(ring.audit.positionTag("head", seq, h))); err != nil {
		return err
	}
	return meta.Put(metaAudit, []byte(h))
}

// auditKeys seal and chain the audit records of one key generation. They
// are derived from that generation's data key; after a rotation the
// replica keeps them, sealed under the new key (meta auditkeys.<gen>), so
// that the records written before it still open and verify.
type auditKeys struct {
	gen   uint32
	aead  cipher.AEAD
	chain []byte
	raw   []byte // seal key || chain key, handed on at the next rotation
}

func newAuditKeys(gen uint32, raw []byte) (*auditKeys, error) {
	if len(raw) != 64 {
		return nil, fmt.Errorf("%w: audit keys of generation %d are %d bytes, want 64", ErrCorrupt, gen, len(raw))
	}
	block, err := aes.NewCipher(raw[:32])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &auditKeys{gen: gen, aead: aead, chain: raw[32:], raw: raw}, nil
}

// The on-disk form of an audit record: a version byte (never '{', which
// starts a record of the old, unsealed JSON form), the key generation, the
// sequence (uvarint) and the time (Unix nanoseconds) in clear, since
// retention needs them without the key and they name nobody; a random
// nonce; the AES-GCM sealed body, with the clear header as associated data
// so a record moved to another position or generation fails to open; and
// the chain value, HMAC-SHA256 truncated to 128 bits over the previous
// record's chain value and everything before it.
//
// Version auditSealed2 (written since) has the same layout but a shorter
// body (encodeAuditBody2): the store's own events as one byte, and
// references of the form "chk-<24 hex>" as their prefix and 12 raw bytes,
// so that the record of a check with one hit stays under 150 bytes.
const (
	auditSealed  = 0xa1
	auditSealed2 = 0xa2
	auditNonce   = 12
	auditMACSize = 16
	auditLabel   = "borderpost audit chain v1"
)

// sealedAudit is a parsed on-disk audit record.
type sealedAudit struct {
	gen    uint32
	seq    uint64
	time   time.Time
	header []byte // version, generation, sequence, time
	nonce  []byte
	sealed []byte // body ciphertext and tag
	signed []byte // everything the chain value covers, after prev
	mac    []byte
}

func (k *auditKeys) sealAudit(rec AuditRecord, prev string) (v []byte, chain string, err error) {
	body := encodeAuditBody2(rec)
	out := make([]byte, 0, 1+4+binary.MaxVarintLen64+8+auditNonce+len(body)+k.aead.Overhead()+auditMACSize)
	out = append(out, auditSealed2)
	out = binary.BigEndian.AppendUint32(out, k.gen)
	out = binary.AppendUvarint(out, rec.Seq)
	out = binary.BigEndian.AppendUint64(out, uint64(rec.Time.UnixNano()))
	hdr := len(out)
	out = append(out, make([]byte, auditNonce)...)
	if _, err := rand.Read(out[hdr:]); err != nil {
		return nil, "", err
	}
	out = k.aead.Seal(out, out[hdr:], body, out[:hdr])
	mac := k.chainMAC(prev, out)
	return append(out, mac...), hex.EncodeToString(mac), nil
}

// chainMAC is the chain value of a record whose bytes before the chain
// value are signed and whose predecessor's chain value is prev.
func (k *auditKeys) chainMAC(prev string, signed []byte) []byte {
	m := hmac.New(sha256.New, k.chain)
	m.Write([]byte(auditLabel))
	m.Write([]byte{0})
	m.Write([]byte(prev))
	m.Write([]byte{0})
	m.Write(signed)
	return m.Sum(nil)[:auditMACSize]
}

// positionTag authenticates a position in the chain, the head (what =
// "head") or the start retention left (what = "anchor"), so that whoever
// cannot compute it cannot move the head back over records removed from
// the end, nor the anchor over records removed from the start.
func (k *auditKeys) positionTag(what string, seq uint64, hash string) string {
	m := hmac.New(sha256.New, k.chain)
	m.Write([]byte(auditLabel))
	m.Write([]byte{0})
	m.Write([]byte(what))
	m.Write([]byte{0})
	m.Write(binary.BigEndian.AppendUint64(nil, seq))
	m.Write([]byte(hash))
	return hex.EncodeToString(m.Sum(nil)[:auditMACSize])
}

// open decrypts a sealed record's body.
func (k *auditKeys) open(sa sealedAudit) (AuditRecord, error) {
	body, err := k.aead.Open(nil, sa.nonce, sa.sealed, sa.header)
	if err != nil {
		return AuditRecord{}, err
	}
	decode := decodeAuditBody
	if sa.header[0] == auditSealed2 {
		decode = decodeAuditBody2
	}
	rec, err := decode(body)
	rec.Seq, rec.Time = sa.seq, sa.time
	return rec, err
}

func parseAudit(v []byte) (sealedAudit, error) {
	var sa sealedAudit
	if len(v) < 1+4+1+8+auditNonce+16+auditMACSize || (v[0] != auditSealed && v[0] != auditSealed2) {
		return sa, fmt.Errorf("not a sealed record")
	}
	sa.gen = binary.BigEndian.Uint32(v[1:])
	seq, n := binary.Uvarint(v[5:])
	if n <= 0 || len(v) < 5+n+8+auditNonce+16+auditMACSize {
		return sa, fmt.Errorf("not a sealed record")
	}
	sa.seq = seq
	p := 5 + n
	sa.time = time.Unix(0, int64(binary.BigEndian.Uint64(v[p:]))).UTC()
	p += 8
	sa.header = v[:p]
	sa.nonce = v[p : p+auditNonce]
	end := len(v) - auditMACSize
	sa.sealed = v[p+auditNonce : end]
	sa.signed = v[:end]
	sa.mac = v[end:]
	return sa, nil
}

// encodeAuditBody writes the record's content as length-prefixed strings:
// short, since a post writes one record per check.
func encodeAuditBody(rec AuditRecord) []byte {
	n := len(rec.Event) + len(rec.Ref) + len(rec.Device) + len(rec.Detail) + 8
	for _, s := range rec.Hits {
		n += len(s) + 1
	}
	for _, s := range rec.Alerts {
		n += len(s) + 1
	}
	out := make([]byte, 0, n)
	str := func(s string) {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	str(string(rec.Event))
	str(rec.Ref)
	str(rec.Device)
	str(rec.Detail)
	for _, list := range [][]string{rec.Hits, rec.Alerts} {
		out = binary.AppendUvarint(out, uint64(len(list)))
		for _, s := range list {
			str(s)
		}
	}
	return out
}

func decodeAuditBody(b []byte) (AuditRecord, error) {
	var rec AuditRecord
	bad := false
	str := func() string {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			bad = true
			return ""
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s
	}
	list := func() []string {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			bad = true
			return nil
		}
		b = b[k:]
		var out []string
		for range n {
			out = append(out, str())
		}
		return out
	}
	rec.Event = AuditEvent(str())
	rec.Ref, rec.Device, rec.Detail = str(), str(), str()
	rec.Hits, rec.Alerts = list(), list()
	if bad || len(b) != 0 {
		return rec, fmt.Errorf("%w: audit record body does not decode", ErrCorrupt)
	}
	return rec, nil
}

// auditEventCodes are the store's own events, written as one byte by
// encodeAuditBody2. Codes are never reused or renumbered: append only.
var auditEventCodes = []AuditEvent{
	"", EventCheck, EventDeltaApplied, EventDeltaRefused, EventOutcome, EventAgentStart, EventAgentStop,
	EventAlertExpired, EventSnapshotApplied, EventSnapshotRefused, EventKeyRotationStarted, EventKeyRotated,
	EventKeyRotationRolledBack, EventAuditPurged, EventAuditSealed, EventScopeAdded, EventScopeDropped, EventScopesRefused,
	EventRecordRestored, EventReplicaRebuilt, EventHeadRefused, EventAckRefused,
}

// auditRefIDLen is the size of the random part of a "chk-"/"hit-" style
// reference: 12 bytes, written as 24 lower-case hex digits.
const auditRefIDLen = 12

// encodeAuditBody2 writes the record's content like encodeAuditBody, but
// the event as a code when it is one of the store's, and every string as
// uvarint(len<<1) and its bytes, or, when it is a reference such as
// "hit-0123456789abcdef01234567", as uvarint(len(prefix)<<1|1), the prefix
// and the 12 bytes its hex digits stand for.
func encodeAuditBody2(rec AuditRecord) []byte {
	n := len(rec.Event) + len(rec.Ref) + len(rec.Device) + len(rec.Detail) + 8
	for _, s := range rec.Hits {
		n += len(s) + 1
	}
	for _, s := range rec.Alerts {
		n += len(s) + 1
	}
	out := make([]byte, 0, n)
	str := func(s string) {
		if i := len(s) - 2*auditRefIDLen - 1; i > 0 && i < 64 && s[i] == '-' && isLowerHex(s[i+1:]) {
			out = binary.AppendUvarint(out, uint64(i)<<1|1)
			out = append(out, s[:i]...)
			out, _ = hex.AppendDecode(out, []byte(s[i+1:]))
			return
		}
		out = binary.AppendUvarint(out, uint64(len(s))<<1)
		out = append(out, s...)
	}
	code := slices.Index(auditEventCodes, rec.Event)
	if code <= 0 {
		out = append(out, 0)
		str(string(rec.Event))
	} else {
		out = append(out, byte(code))
	}
	str(rec.Ref)
	str(rec.Device)
	str(rec.Detail)
	for _, list := range [][]string{rec.Hits, rec.Alerts} {
		out = binary.AppendUvarint(out, uint64(len(list)))
		for _, s := range list {
			str(s)
		}
	}
	return out
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func decodeAuditBody2(b []byte) (AuditRecord, error) {
	var rec AuditRecord
	bad := false
	take := func(n uint64) []byte {
		if bad || uint64(len(b)) < n {
			bad = true
			return nil
		}
		v := b[:n]
		b = b[n:]
		return v
	}
	str := func() string {
		h, k := binary.Uvarint(b)
		if k <= 0 {
			bad = true
			return ""
		}
		b = b[k:]
		if h&1 == 0 {
			return string(take(h >> 1))
		}
		prefix := take(h >> 1)
		id := take(auditRefIDLen)
		if bad {
			return ""
		}
		return string(prefix) + "-" + hex.EncodeToString(id)
	}
	list := func() []string {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			bad = true
			return nil
		}
		b = b[k:]
		var out []string
		for range n {
			out = append(out, str())
		}
		return out
	}
	code := take(1)
	switch {
	case bad:
	case code[0] == 0:
		rec.Event = AuditEvent(str())
	case int(code[0]) < len(auditEventCodes):
		rec.Event = auditEventCodes[code[0]]
	default:
		bad = true
	}
	rec.Ref, rec.Device, rec.Detail = str(), str(), str()
	rec.Hits, rec.Alerts = list(), list()
	if bad || len(b) != 0 {
		return rec, fmt.Errorf("%w: audit record body does not decode", ErrCorrupt)
	}
	return rec, nil
}

// auditKeysFor returns the audit keys of key generation gen, or nil.
func (r *Replica) auditKeysFor(gen uint32) *auditKeys {
	if k := r.keys()[gen]; k != nil && k.audit != nil { // a retired keyring has none
		return k.audit
	}
	if old := r.auditOld.Load(); old != nil {
		return (*old)[gen]
	}
	return nil
}

// auditKeysPrefix starts the meta keys of earlier generations' audit keys.
var auditKeysPrefix = []byte("auditkeys.")

func auditKeysName(gen uint32) []byte { return fmt.Appendf(nil, "auditkeys.%d", gen) }

// loadAuditKeys opens the audit keys of earlier key generations, sealed
// under ring. A key that does not open is left out: the records it chained
// then fail verification, which says so, but checks go on.
func (r *Replica) loadAuditKeys(tx *bolt.Tx, ring *keyring) {
	old := map[uint32]*auditKeys{}
	c := tx.Bucket(bucketMeta).Cursor()
	for k, v := c.Seek(auditKeysPrefix); k != nil && bytes.HasPrefix(k, auditKeysPrefix); k, v = c.Next() {
		gen, err := strconv.ParseUint(string(k[len(auditKeysPrefix):]), 10, 32)
		if err != nil {
			continue
		}
		raw, err := ring.open(bucketMeta, k, v)
		if err == nil {
			var ak *auditKeys
			if ak, err = newAuditKeys(uint32(gen), raw); err == nil {
				old[ak.gen] = ak
				continue
			}
		}
		r.log.Warn("audit key of an earlier key generation does not open; its records will fail verification", "generation", gen, "err", err)
	}
	r.auditOld.Store(&old)
}

// handOnAuditKeys seals the audit keys of every generation but next's
// under next, inside the transaction that makes next the active key.
func (r *Replica) handOnAuditKeys(tx *bolt.Tx, next *keyring) error {
	all := map[uint32]*auditKeys{}
	if old := r.auditOld.Load(); old != nil {
		for g, k := range *old {
			all[g] = k
		}
	}
	for g, k := range r.keys() {
		if g != next.gen && k.audit != nil {
			all[g] = k.audit
		}
	}
	meta := tx.Bucket(bucketMeta)
	for g, k := range all {
		name := auditKeysName(g)
		v, err := next.seal(bucketMeta, name, k.raw)
		if err != nil {
			return err
		}
		if err := meta.Put(name, v); err != nil {
			return err
		}
	}
	return nil
}

// sealLegacyAudit converts a log written before records were sealed: it
// checks the old unkeyed chain, then seals and chains every record under
// ring, and records that it did. It runs once per file (meta audit_keyed).
func (r *Replica) sealLegacyAudit(tx *bolt.Tx, ring *keyring) error {
	meta := tx.Bucket(bucketMeta)
	if meta.Get(metaAuditKeyed) != nil {
		return nil
	}
	anchor, err := readAnchor(tx)
	if err != nil {
		return err
	}
	b := tx.Bucket(bucketAudit)
	type legacy struct {
		k   []byte
		rec AuditRecord
	}
	var recs []legacy
	prev, prevSeq, broken := anchor.Hash, anchor.Seq, ""
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		key := binary.BigEndian.Uint64(k)
		var rec AuditRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("%w: record %d of the unsealed log does not decode: %w", ErrAuditChain, key, err)
		}
		if want, _ := legacyAuditHash(rec); broken == "" && (want != rec.Hash || rec.Prev != prev || rec.Seq != key || key != prevSeq+1) {
			broken = fmt.Sprintf("broken at record %d", key)
		}
		prev, prevSeq = rec.Hash, key
		rec.Seq = key
		recs = append(recs, legacy{bytes.Clone(k), rec})
	}
	if broken == "" && len(recs) > 0 && string(meta.Get(metaAudit)) != prev {
		broken = fmt.Sprintf("broken after record %d (head names another record)", prevSeq)
	}
	if anchor.Seq != 0 || anchor.Hash != "" {
		anchor.Gen, anchor.Tag = ring.gen, ring.audit.positionTag("anchor", anchor.Seq, anchor.Hash)
		if err := writeAnchor(tx, anchor); err != nil {
			return err
		}
	}
	head := anchor.Hash
	for _, l := range recs {
		v, h, err := ring.audit.sealAudit(l.rec, head)
		if err != nil {
			return err
		}
		if err := b.Put(l.k, v); err != nil {
			return err
		}
		head = h
	}
	if err := meta.Put(metaAuditKeyed, []byte{1}); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	if err := meta.Put(metaAudit, []byte(head)); err != nil {
		return err
	}
	if err := meta.Put(metaAuditHeadTag, []byte(ring.audit.positionTag("head", recs[len(recs)-1].rec.Seq, head))); err != nil {
		return err
	}
	// The clear records stay in freed pages until the file is rewritten.
	if err := meta.Put(metaCompact, []byte{1}); err != nil {
		return err
	}
	if broken == "" {
		broken = "intact"
	} else {
		r.log.Warn("the unsealed audit log's chain was broken before it was sealed", "detail", broken)
	}
	return r.appendAudit(tx, AuditRecord{Event: EventAuditSealed, Detail: fmt.Sprintf("%d records sealed; unkeyed chain %s", len(recs), broken)})
}

// legacyAuditHash is the unkeyed chain value of a record of the old JSON
// form: only sealLegacyAudit uses it, to report on the log it converts.
func legacyAuditHash(rec AuditRecord) (string, error) {
	rec.Hash = ""
	b, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// AuditRecords calls fn for every audit record in order, opened. Prev and
// Hash are the records' chain values; VerifyAudit checks them.
func (r *Replica) AuditRecords(ctx context.Context, fn func(AuditRecord) error) error {
	return r.jview(func(tx *bolt.Tx) error {
		anchor, err := readAnchor(tx)
		if err != nil {
			return err
		}
		prev := anchor.Hash
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			key := binary.BigEndian.Uint64(k)
			rec, err := r.openAudit(key, v)
			if err != nil {
				return err
			}
			rec.Prev = prev
			prev = rec.Hash
			if err := fn(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

func (r *Replica) openAudit(key uint64, v []byte) (AuditRecord, error) {
	sa, err := parseAudit(v)
	if err != nil {
		return AuditRecord{}, fmt.Errorf("%w: record %d is not sealed under the audit key (written without the key: tampered)", ErrAuditChain, key)
	}
	ak := r.auditKeysFor(sa.gen)
	if ak == nil {
		return AuditRecord{}, fmt.Errorf("%w: record %d names key generation %d, whose audit key the replica does not hold", ErrAuditChain, key, sa.gen)
	}
	rec, err := ak.open(sa)
	if err != nil {
		return rec, fmt.Errorf("%w: record %d was edited (does not open under the audit key)", ErrAuditChain, key)
	}
	rec.Hash = hex.EncodeToString(sa.mac)
	return rec, nil
}

// VerifyAudit walks the audit log and checks its keyed chain: that every
// record is sealed under the audit key of its key generation and opens,
// sits where it was written, chains to the one before under the audit
// key, and that the last record is the head the store recorded and is
// under the active generation. It returns the number of records and an
// ErrAuditChain error naming the first record that was edited, removed,
// moved or rewritten without the key (such as a chain recomputed with an
// unkeyed hash).
func (r *Replica) VerifyAudit(ctx context.Context) (int, error) {
	n := 0
	var prev string
	var prevSeq uint64
	err := r.jview(func(tx *bolt.Tx) error {
		anchor, err := readAnchor(tx)
		if err != nil {
			return err
		}
		prev, prevSeq = anchor.Hash, anchor.Seq
		if anchor.Seq != 0 || anchor.Hash != "" {
			ak := r.auditKeysFor(anchor.Gen)
			if ak == nil || !hmac.Equal([]byte(ak.positionTag("anchor", anchor.Seq, anchor.Hash)), []byte(anchor.Tag)) {
				return fmt.Errorf("%w: the log's start (records up to %d removed by retention) was not set under the audit key (records removed from the start)", ErrAuditChain, anchor.Seq)
			}
		}
		var lastGen uint32
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			key := binary.BigEndian.Uint64(k)
			sa, err := parseAudit(v)
			if err != nil {
				return fmt.Errorf("%w: record %d is not sealed under the audit key (written without the key: tampered)", ErrAuditChain, key)
			}
			if sa.seq != key {
				return fmt.Errorf("%w: record stored at %d says it is %d (moved)", ErrAuditChain, key, sa.seq)
			}
			if key != prevSeq+1 {
				return fmt.Errorf("%w: records %d to %d are missing", ErrAuditChain, prevSeq+1, key-1)
			}
			if sa.gen < lastGen {
				return fmt.Errorf("%w: record %d is under key generation %d, after a record under %d (moved or rewritten)", ErrAuditChain, key, sa.gen, lastGen)
			}
			if _, err := r.openAudit(key, v); err != nil {
				return err
			}
			if !hmac.Equal(r.auditKeysFor(sa.gen).chainMAC(prev, sa.signed), sa.mac) {
				return fmt.Errorf("%w: record %d does not follow record %d under the audit key (edited, or the chain was recomputed)", ErrAuditChain, key, prevSeq)
			}
			prev, prevSeq, lastGen = hex.EncodeToString(sa.mac), key, sa.gen
			n++
		}
		meta := tx.Bucket(bucketMeta)
		if head := string(meta.Get(metaAudit)); head != prev {
			return fmt.Errorf("%w: the log ends at record %d but the head names another record (records removed from the end)", ErrAuditChain, prevSeq)
		}
		if n > 0 && !hmac.Equal([]byte(r.auditKeysFor(lastGen).positionTag("head", prevSeq, prev)), meta.Get(metaAuditHeadTag)) {
			return fmt.Errorf("%w: the log ends at record %d but the head was not set there under the audit key (records removed from the end)", ErrAuditChain, prevSeq)
		}
		// Every rotation writes a record under its new generation at once.
		if active := r.journalRing().gen; n > 0 && lastGen != active {
			return fmt.Errorf("%w: the log ends at record %d, under key generation %d, but the replica is at %d (records removed from the end)", ErrAuditChain, prevSeq, lastGen, active)
		}
		return nil
	})
	return n, err
}

// auditAnchor is the last record removed by retention: the chain's start.
// Tag is its position tag under the audit keys of generation Gen.
type auditAnchor struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
	Gen  uint32 `json:"gen,omitempty"`
	Tag  string `json:"tag,omitempty"`
}

func writeAnchor(tx *bolt.Tx, a auditAnchor) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(metaAuditAnchor, b)
}

func readAnchor(tx *bolt.Tx) (auditAnchor, error) {
	var a auditAnchor
	b := tx.Bucket(bucketMeta).Get(metaAuditAnchor)
	if b == nil {
		return a, nil
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("%w: audit anchor: %w", ErrAuditChain, err)
	}
	return a, nil
}
