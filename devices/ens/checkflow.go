package ens

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/borderpost/borderpost/devices"
)

// checked is what became of one declaration that was checked.
type checked struct {
	check  devices.Check
	result devices.Result
	// faults lists the fields left out of the check (not strict), or nil.
	faults error
}

// checkDeclaration is what every transport does with a declaration:
// parse it, validate it, and check its valid fields. It returns an error
// wrapping ErrChecker when the Checker failed, any other error when the
// declaration was refused unchecked (malformed, or faulty and strict).
func checkDeclaration(ctx context.Context, r io.Reader, mediaType string, lim Limits, strict bool,
	checker devices.Checker, device string, timeout time.Duration) (checked, error) {
	var out checked
	d, err := Parse(r, mediaType, lim)
	if err != nil {
		return out, err
	}
	if verr := d.Validate(); verr != nil {
		if strict {
			return out, verr
		}
		out.faults = verr
	}
	out.check = d.Check(device)
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if out.result, err = checker.Check(ctx, out.check); err != nil {
		return out, fmt.Errorf("%w: %w", ErrChecker, err)
	}
	return out, nil
}

// faultList returns the validation faults of a checked declaration.
func (c checked) faultList() []FieldError {
	var ve *ValidationError
	if errors.As(c.faults, &ve) {
		return ve.Errors
	}
	return nil
}
