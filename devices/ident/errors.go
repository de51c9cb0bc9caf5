package ident

import "errors"

// Errors returned by the parsers. Each is wrapped with the detail of what
// failed (position, expected digit); callers test with errors.Is. The
// wrapped messages never repeat the value itself, so they are safe to log.
var (
	// ErrEmpty means the value was empty after removing separators.
	ErrEmpty = errors.New("empty value")
	// ErrContainerFormat means a container number is not 3 owner letters, a
	// category letter (U, J, Z or R), 6 serial digits and a check digit.
	ErrContainerFormat = errors.New("container number format")
	// ErrContainerCheckDigit means the ISO 6346 check digit does not match.
	ErrContainerCheckDigit = errors.New("container check digit")
	// ErrPlateFormat means a plate holds characters other than letters and
	// digits, or is too long or too short.
	ErrPlateFormat = errors.New("plate format")
	// ErrCountry means a country code is neither ISO 3166-1 alpha-2 nor a
	// known international distinguishing sign.
	ErrCountry = errors.New("country code")
	// ErrIMOFormat means an IMO number is not 7 digits after an optional
	// "IMO" prefix.
	ErrIMOFormat = errors.New("IMO number format")
	// ErrIMOCheckDigit means an IMO number's check digit does not match.
	ErrIMOCheckDigit = errors.New("IMO check digit")
	// ErrMRNFormat means an MRN is not 2 digits, 2 letters, 13 letters or
	// digits and a check character.
	ErrMRNFormat = errors.New("MRN format")
	// ErrMRNCheck means an MRN's check character does not match.
	ErrMRNCheck = errors.New("MRN check character")
	// ErrEORIFormat means an EORI number is not a country code followed by
	// 1 to 15 letters or digits.
	ErrEORIFormat = errors.New("EORI format")
	// ErrIdentifierFormat means a document number, VIN, serial or
	// registration holds characters other than letters and digits, or is
	// too long.
	ErrIdentifierFormat = errors.New("identifier format")
	// ErrPhoneFormat means a phone number is not in E.164 form.
	ErrPhoneFormat = errors.New("phone number format")
	// ErrEmailFormat means an e-mail address is not local@domain.
	ErrEmailFormat = errors.New("e-mail format")
)
