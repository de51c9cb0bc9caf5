package ens

import (
	"fmt"
	"io"
	"mime"
	"strings"
)

// Media types accepted by Parse.
const (
	MediaXML  = "application/xml"
	MediaJSON = "application/json"
)

// Parse reads a declaration of any form this package knows from r:
// mediaType application/xml (or text/xml, or any type ending in +xml) is
// read as ICS1 CC315A/CC313A; application/json (or +json) is read as the
// ICS2 JSON form when its top-level object has "message_type", and as
// HMRC's rendering when it has "submissionId" or "metadata". Limits, errors
// and paths are those of ParseICS1, ParseICS2 and ParseHMRC.
func Parse(r io.Reader, mediaType string, lim Limits) (*Declaration, error) {
	mt, _, err := mime.ParseMediaType(mediaType)
	if err != nil {
		return nil, fmt.Errorf("ens: %w: media type not understood", ErrFormat)
	}
	isXML := mt == MediaXML || mt == "text/xml" || strings.HasSuffix(mt, "+xml")
	isJSON := mt == MediaJSON || strings.HasSuffix(mt, "+json")
	if !isXML && !isJSON {
		return nil, fmt.Errorf("ens: %w: want %s or %s", ErrFormat, MediaXML, MediaJSON)
	}
	lim = lim.withDefaults()
	b, err := readInput(r, lim)
	if err != nil {
		return nil, err
	}
	if isXML {
		return parseICS1(b, lim)
	}
	keys, err := scanJSON(b, lim)
	if err != nil {
		return nil, err
	}
	switch {
	case keys["message_type"]:
		return parseICS2(b)
	case keys["submissionid"] || keys["metadata"]:
		return parseHMRC(b)
	}
	return nil, fmt.Errorf("ens: %w: JSON object has neither message_type (ICS2 form) nor submissionId (HMRC form)", ErrFormat)
}
