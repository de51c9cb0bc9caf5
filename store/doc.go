// Package store owns the replica at a border post: the system of record for
// alerts, the watch-list cursor (epoch, sequence, chain hash, digest), the
// outbox of hits waiting for central, and the tamper-evident audit log, all
// in one bbolt file.
//
// Every alert value and every hit is encrypted with AES-256-GCM under a key
// derived from the data key; alert keys are HMACs, so no name, plate,
// container or document number lands on disk in clear. A change to the
// watch list is applied whole, with its cursor, in one transaction, or not
// at all.
//
// The store never talks to the network and never imports agent, sync,
// devices or simulator; it must never log personal data, and it must never
// open without a key that matches the file.
package store
