// Package store owns the replica at a border post: the system of record for
// alerts, the watch-list cursor (epoch, sequence, chain hash, digest), the
// outbox of hits waiting for central, and the tamper-evident audit log: the
// alerts in one bbolt file, what checks write in its journal beside it (a
// second bbolt file, fed through a write-ahead log so that a check waits
// for one disk sync); a post that follows scopes keeps each scope's alerts
// in a file of its own beside it (ScopePath), so that a scope dropped is a
// file removed.
//
// Every alert value and every hit is encrypted with AES-256-GCM under a key
// derived from the data key; alert keys are HMACs, so no name, plate,
// container or document number lands on disk in clear. A change to the
// watch list is applied whole, with its cursor, in one transaction, or not
// at all. Alerts live in numbered generations: a snapshot or a key
// rotation builds a new one beside the active one and switches in one
// transaction, so a kill leaves the old set or the new, never a mix.
// Expired alerts are purged to tombstones that keep the digest equal to
// central's. README.md documents the alert file format, the file layout
// and these decisions.
//
// The store never talks to the network and never imports agent, sync,
// devices or simulator; it must never log personal data, and it must never
// open without a key that matches the file.
package store
