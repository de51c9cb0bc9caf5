// Package terminal owns the officers' terminal: the web page an officer at a
// border post uses to watch hits arrive live, read why each one matched,
// acknowledge it with an outcome, and run manual checks by name, plate,
// container, document or EORI number.
//
// It owns the terminal's accounts (a users file of password hashes), its
// sessions, CSRF tokens and login rate limits, and decides from each
// alert's purposes which roles may see a hit. It talks to the rest of the
// agent only through the small interfaces in terminal.go: a Checker for
// manual checks, a Recorder that puts outcomes in the outbox and writes the
// audit log, and a State that says how the link and the replica are.
//
// It must never log personal data (names, plates, document numbers,
// remarks, account names or addresses), never show a hit to a role whose
// purposes the alert does not allow, never let a hit be viewed or a manual
// check run without an audit record written first, and never load anything
// from outside the agent: the page's HTML, script and style are embedded.
package terminal
