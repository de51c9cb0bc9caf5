package terminal

import "errors"

// Errors returned by the terminal. Those about input name the field at
// fault but never echo its value.
var (
	// ErrUsersFile means the users file has a line that is not a valid account.
	ErrUsersFile = errors.New("users file")
	// ErrHash means a password hash is not one this package can verify, or
	// its parameters are weaker than the minimum.
	ErrHash = errors.New("password hash")
	// ErrWeakPassword means a password is too short to be hashed for an account.
	ErrWeakPassword = errors.New("password too short")
	// ErrRole means a role is not officer, supervisor or technician.
	ErrRole = errors.New("unknown role")
	// ErrConfig means the terminal's configuration cannot work.
	ErrConfig = errors.New("terminal config")
	// ErrInput means a request from the page has a missing or invalid field.
	ErrInput = errors.New("invalid input")
	// ErrPlainHTTP means plain HTTP was asked for on an address other than loopback.
	ErrPlainHTTP = errors.New("plain HTTP outside loopback")
)
