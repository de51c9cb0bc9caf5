package name

import "strings"

// Latin names written in Cyrillic (RuleCyrillicReadings). A Russian,
// Ukrainian or Belarusian document writes a foreign name as it sounds, by
// the practical transcription from English and the other Latin-script
// languages: Waleed is Валид, Saeed Саид, Thomas Томас, Harry Гарри, Max
// Макс, Duc Дык or Дук, Willow Виллоу. Read back into Latin letters by
// transliteration these come out as valid, said, tomas, garri, maks, duk:
// several letters or letter groups of the Latin spelling have one Cyrillic
// letter between them, and transliteration cannot know which was meant.
//
// cyrReading writes a token with each such group read as one letter, on
// both sides: a query token that came from Cyrillic and an alert token are
// one name when their readings are equal. The groups are those of the
// practical transcription tables (English, and the Latin spellings of
// Arabic, Vietnamese and other names as they reach Russian documents):
//
//	th -> t, ph -> f                   (т, ф: Thomas, Philip)
//	ck, q, c before a back vowel -> k  (к: Jack, Qasim, Duc)
//	c before e, i, y -> s              (с: Cecil)
//	x and ks -> x                      (кс: Max, Maks)
//	w -> v                             (в: Waleed, Willow)
//	h, kh, g -> h                      (х and г: Hamburg is Гамбург, Harry Гарри)
//	dzh, dj -> j                       (дж: John, Dzhon)
//	ee -> i, y -> i                    (и, й, ы: Saeed, Harry)
//	oo, ou -> u                        (у: Foodum, Youssef)
//	doubled letters as one             (Гарри, Willow: written or not)
//
// The reading is used only when a query token was written in Cyrillic (a
// Latin query keeps its letters: Carl and Karl stay two spellings there),
// and only for equality or near equality of the two readings: it widens
// what a Cyrillic query reaches, it never narrows a Latin one.

// cyrReadingSim is what a query token from Cyrillic scores against an
// alert token of the same reading: as digraphSim and variantSim, one name
// written two ways.
const cyrReadingSim = digraphSim

// cyrReadingAlts bounds the vocabulary tokens one query token is read as
// through its reading in retrieval: a reading a hundred tokens share
// (short ones: "li", "di") would walk a hundred lists.
const cyrReadingAlts = 4

// cyrReading writes t into buf read as above; a token longer than buf
// is cut (such tokens are compared by their string similarity anyway).
func cyrReading(t string, buf *[maxDigraphToken]byte) []byte {
	n := 0
	at := func(i int) byte {
		if i < len(t) {
			return t[i]
		}
		return 0
	}
	for i := 0; i < len(t) && n < len(buf); i++ {
		c, nx := t[i], at(i+1)
		switch {
		case c == 'd' && nx == 'z' && at(i+2) == 'h':
			c = 'j'
			i += 2
		case c == 'd' && nx == 'j':
			c = 'j'
			i++
		case c == 'k' && nx == 'h':
			c = 'h'
			i++
		case c == 't' && nx == 'h':
			i++
		case c == 'p' && nx == 'h':
			c = 'f'
			i++
		case c == 'c' && nx == 'k':
			c = 'k'
			i++
		case c == 'k' && nx == 's':
			c = 'x'
			i++
		case c == 'c' && nx == 'h':
			// ч: kept as the two letters every romanisation writes.
			if n < len(buf)-1 {
				buf[n] = 'c'
				n++
			}
			c = 'h'
			i++
		case c == 'c' && (nx == 'e' || nx == 'i' || nx == 'y'):
			c = 's'
		case c == 'c', c == 'q':
			c = 'k'
		case c == 'w':
			c = 'v'
		case c == 'g':
			c = 'h'
		case c == 'e' && nx == 'e':
			c = 'i'
			i++
		case c == 'o' && (nx == 'o' || nx == 'u'):
			c = 'u'
			i++
		case c == 'y':
			c = 'i'
		}
		if n > 0 && buf[n-1] == c {
			continue // doubled letters as one
		}
		buf[n] = c
		n++
	}
	return buf[:n]
}

// cyrTokSim compares a query token written in Cyrillic with an alert
// token through their readings: cyrReadingSim when the readings are
// equal, their string similarity (at most cyrReadingSim) when they start
// with the same letter, 0 otherwise or when either is too long to read
// (the tokens' own string similarity still applies).
func cyrTokSim(a, b string) float64 {
	if len(a) > maxDigraphToken || len(b) > maxDigraphToken || len(a) == 0 || len(b) == 0 {
		return 0
	}
	// Most pairs of a candidate are strangers: their readings start
	// apart (the first letter read depends on three letters at most),
	// and reading every token of every candidate cost a Cyrillic query
	// a tenth of its time.
	var fa, fb [maxDigraphToken]byte
	if cyrReading(a[:min(3, len(a))], &fa)[0] != cyrReading(b[:min(3, len(b))], &fb)[0] {
		return 0
	}
	var ba, bb [maxDigraphToken]byte
	return readingSim(cyrReading(a, &ba), cyrReading(b, &bb), cyrReadingSim)
}

// fileReading files vocabulary token id under the hash of its reading,
// when the reading is not the token itself (those a query reaches by
// the token's own text).
func (ix *Index) fileReading(id uint32) {
	t := &ix.toks[id]
	if len(t.text) > maxDigraphToken || t.class == classNumber || t.class == classLegal {
		return
	}
	var buf [maxDigraphToken]byte
	r := cyrReading(t.text, &buf)
	if string(r) == t.text {
		return
	}
	h := keyedHash(ix.seed, r)
	ix.readKey = append(ix.readKey, h)
	ix.readTok = append(ix.readTok, id)
	ix.readNext = append(ix.readNext, ix.reads.head(h, ix.readKey))
	ix.reads.set(h, uint32(len(ix.readTok)), ix.readKey)
}

// fileReadingsAll files every vocabulary token again: after Decode, which
// does not persist the chains (rebuilt from the vocabulary at load).
func (ix *Index) fileReadingsAll() {
	ix.reads = chainHeads{}
	ix.readKey, ix.readTok, ix.readNext = nil, nil, nil
	for id := range uint32(len(ix.toks)) {
		ix.fileReading(id)
	}
}

// readingsOf calls fn with each vocabulary token, other than the query
// token's own, whose reading is the reading of text, up to
// cyrReadingAlts of them: those filed under the reading, then the token
// whose text is the reading itself.
func (ix *Index) readingsOf(text string, own uint32, fn func(id uint32)) {
	if len(text) > maxDigraphToken {
		return
	}
	var buf, vb [maxDigraphToken]byte
	r := cyrReading(text, &buf)
	n := 0
	if id, ok := ix.vocab[string(r)]; ok && id != own {
		fn(id)
		n++
	}
	h := keyedHash(ix.seed, r)
	for p := ix.reads.head(h, ix.readKey); p != 0 && n < cyrReadingAlts; p = ix.readNext[p-1] {
		id := ix.readTok[p-1]
		if ix.readKey[p-1] != h || id == own || string(cyrReading(ix.toks[id].text, &vb)) != string(r) {
			continue
		}
		fn(id)
		n++
	}
}

// legalReadings maps the reading of each word of the legal forms to the
// word (lexicon.legalReadings); a word that reads as itself, or as
// another legal word, is left out, and so is a reading two words share.
func legalReadings(legal map[string]string) map[string]string {
	out := map[string]string{}
	shared := map[string]bool{}
	var buf [maxDigraphToken]byte
	for form := range legal {
		for _, w := range strings.Fields(form) {
			if len(w) > maxDigraphToken {
				continue
			}
			r := string(cyrReading(w, &buf))
			if r == w {
				continue
			}
			if have, ok := out[r]; ok && have != w {
				shared[r] = true
			}
			out[r] = w
		}
	}
	for r := range out {
		if shared[r] || legal[r] != "" {
			delete(out, r)
		}
	}
	return out
}

// readLegalInCyrillic rewrites, in a company or unknown query, each
// token written in Cyrillic that is no legal word itself but reads as
// one (Ко., Лтд.; Инк.; Груп) as that word, before legal forms are
// matched: "ko ltd" is then Co., Ltd. like "co ltd". Left as a name
// token, such a word is a rare word the alert lacks, a conflict.
func readLegalInCyrillic(lx *lexicon, raw []rawTok) []rawTok {
	var buf [maxDigraphToken]byte
	for i := range raw {
		t := raw[i].text
		if !raw[i].cyr || len(t) > maxDigraphToken || lx.legal[t] != "" || lx.legalPhraseWord[t] {
			continue
		}
		if w, ok := lx.legalReadings[string(cyrReading(t, &buf))]; ok {
			raw[i].text = w
		}
	}
	return raw
}
