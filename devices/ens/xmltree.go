package ens

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// xnode is one element of a bounded XML document, kept as a tree so that
// the ICS1 schema can be checked with every fault reported.
type xnode struct {
	name  xml.Name
	attrs []xml.Attr
	text  strings.Builder
	kids  []*xnode
}

// child returns the first child element called name, or nil.
func (n *xnode) child(name string) *xnode {
	for _, k := range n.kids {
		if k.name.Local == name {
			return k
		}
	}
	return nil
}

// all returns every child element called name.
func (n *xnode) all(name string) []*xnode {
	var out []*xnode
	for _, k := range n.kids {
		if k.name.Local == name {
			out = append(out, k)
		}
	}
	return out
}

// value returns the collapsed text of the child called name, or "".
func (n *xnode) value(name string) string {
	if k := n.child(name); k != nil {
		return collapseSpace(k.text.String())
	}
	return ""
}

// parseXMLTree decodes b into a tree with a strict decoder, refusing DOCTYPE
// and other declarations (no entity can be defined, so none can expand),
// processing instructions other than the XML declaration, nesting deeper
// than lim.MaxDepth and more than lim.MaxTokens tokens.
func parseXMLTree(b []byte, lim Limits) (*xnode, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	// No CharsetReader: a declared encoding other than UTF-8 is an error.
	var stack []*xnode
	var root *xnode
	tokens := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("ens: %w: XML line %d: %s", ErrSyntax, se.Line, se.Msg)
			}
			if strings.Contains(err.Error(), "encoding") {
				return nil, fmt.Errorf("ens: %w: %w", ErrEncoding, err)
			}
			return nil, fmt.Errorf("ens: %w: %w", ErrSyntax, err)
		}
		tokens++
		if tokens > lim.MaxTokens {
			return nil, fmt.Errorf("ens: %w: more than %d", ErrTooManyTokens, lim.MaxTokens)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, fmt.Errorf("ens: %w", ErrDoctype)
		case xml.ProcInst:
			if t.Target != "xml" || root != nil || len(stack) > 0 {
				return nil, fmt.Errorf("ens: %w: processing instruction", ErrSyntax)
			}
			if enc := procInstEncoding(t.Inst); enc != "" && !strings.EqualFold(enc, "utf-8") {
				return nil, fmt.Errorf("ens: %w: declared encoding is not UTF-8", ErrEncoding)
			}
		case xml.StartElement:
			if len(stack) >= lim.MaxDepth {
				return nil, fmt.Errorf("ens: %w: more than %d levels", ErrTooDeep, lim.MaxDepth)
			}
			n := &xnode{name: t.Name, attrs: append([]xml.Attr(nil), t.Attr...)}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("ens: %w: more than one root element", ErrSyntax)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			// Token has matched start and end names already.
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				n := stack[len(stack)-1]
				if n.text.Len()+len(t) > int(lim.MaxBytes) {
					return nil, fmt.Errorf("ens: %w", ErrTooLarge)
				}
				n.text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("ens: %w: text outside the root element", ErrSyntax)
			}
		case xml.Comment:
		}
	}
	if root == nil {
		return nil, fmt.Errorf("ens: %w: no root element", ErrSyntax)
	}
	if len(stack) != 0 {
		return nil, fmt.Errorf("ens: %w: unexpected end of input", ErrSyntax)
	}
	return root, nil
}

// procInstEncoding returns the encoding named in an XML declaration.
func procInstEncoding(inst []byte) string {
	s := string(inst)
	i := strings.Index(s, "encoding")
	if i < 0 {
		return ""
	}
	s = strings.TrimLeft(s[i+len("encoding"):], " \t\r\n=")
	if s == "" || (s[0] != '"' && s[0] != '\'') {
		return "?"
	}
	q := s[0]
	j := strings.IndexByte(s[1:], q)
	if j < 0 {
		return "?"
	}
	return s[1 : 1+j]
}
