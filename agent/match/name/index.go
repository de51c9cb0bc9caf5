package name

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Entry is one alert subject to index: a person or a company with its
// names. Names holds the primary name first, then aliases; each is matched
// on its own and the entry scores with its best name.
type Entry struct {
	ID            uint32
	Kind          Kind
	Names         []string
	BirthDate     string   // "", "YYYY", "YYYY-MM" or "YYYY-MM-DD"
	Nationalities []string // ISO 3166-1 alpha-2
	Sex           string   // "M", "F" or ""
}

// Options tunes the index. The zero value gives the documented defaults.
type Options struct {
	// Candidates is how many candidate names are scored in full per
	// search at most; default 40. Candidates gathering less than a
	// quarter of the best candidate's weight are not scored.
	Candidates int
	// PostingBudget bounds the posting-list entries one search walks while
	// gathering candidates; default 1500. Lists of common tokens that do
	// not fit are not walked: they add their weight to the names the
	// walked lists found, through each name's token signature.
	PostingBudget int
	// Disable switches rules off (rules.go), for ablations; the zero
	// value runs them all.
	Disable RuleSet
	// Ties bounds, in multiples of Search's limit, the matches Search
	// returns when entries tie with the limit-th; default tieCeiling (20),
	// 4 with RuleNamesakes off. A caller that reads every match's alert
	// sets it lower.
	Ties int
}

func (o Options) withDefaults() Options {
	if o.Candidates <= 0 {
		o.Candidates = 40
	}
	if o.PostingBudget <= 0 {
		o.PostingBudget = 1500
	}
	if o.Ties <= 0 {
		o.Ties = tieCeiling
		if o.Disable.Has(RuleNamesakes) {
			o.Ties = 4
		}
	}
	return o
}

// vocabToken is one distinct normalised token of the indexed names.
type vocabToken struct {
	text  string
	mask  uint32 // letterMask(text)
	skel  uint32 // index into skelPost
	group uint32 // variant group, 0 for none
	syl   uint64 // syllableCode(text)
	class tokenClass
	df    uint32   // live names holding the token
	post  []uint32 // names holding the token, ascending
}

// entryRecord is what the index keeps of an Entry besides its names: 48
// bytes, a third less than the fields as Entry gives them.
type entryRecord struct {
	// nats are shared: entries with the same nationalities hold one slice
	// (Index.natSets), read only.
	nats  []string
	id    uint32
	first uint32 // first name index
	count uint32 // number of names
	birth packedDate
	kind  Kind
	dead  bool
	sex   byte
}

// entryEvidence is what weighEvidence reads of an entry, unpacked.
type entryEvidence struct {
	birth birthDate
	nats  []string
	sex   byte
}

func (r *entryRecord) evidence() entryEvidence {
	return entryEvidence{birth: r.birth.date(), nats: r.nats, sex: r.sex}
}

// packedDate is a birthDate in 4 bytes.
type packedDate struct {
	year       uint16
	month, day uint8
}

func packDate(d birthDate) packedDate {
	return packedDate{year: uint16(d.year), month: uint8(d.month), day: uint8(d.day)}
}

// date returns the birthDate d packs.
func (d packedDate) date() birthDate {
	return birthDate{year: int(d.year), month: int(d.month), day: int(d.day)}
}

// Index is the in-memory name index. Its methods are safe for concurrent
// use: an RWMutex inside lets any number of Search calls run together and
// makes Add, Remove and Compact exclusive. Callers need no locking of
// their own.
type Index struct {
	mu   sync.RWMutex
	lx   *lexicon
	opts Options
	seed hashSeed
	// noRowCache makes Search compare every token pair of every
	// candidate afresh, as it did before the row cache: the tests that
	// prove the cache changes no result set it.
	noRowCache bool

	vocab       map[string]uint32
	toks        []vocabToken
	skelVocab   map[string]uint32
	skelPost    [][]uint32
	skelText    []string   // by skeleton number
	groupPost   [][]uint32 // by variant group
	groupDF     []uint32
	concatVocab map[uint64]uint32 // hash of two adjacent tokens written as one
	concatPost  [][]uint32

	// Fuzzy neighbours: every vocabulary token of 4 or more letters (and
	// every ordinary name token of 3) is filed under the hash of each string made by deleting one letter
	// (and under itself); a query token meets its neighbours within edit
	// distance 1 (substitution, insertion, deletion, transposition)
	// through a shared key. Chains are linked through delNext.
	dels    chainHeads // key hash -> 1-based head in delTok
	delKey  []uint64   // by delTok entry: the key hash it is filed under
	delTok  []uint32
	delNext []uint32

	// Readings (cyrillic.go, RuleCyrillicReadings): each vocabulary
	// token whose reading is not itself, filed under the reading's hash
	// and chained through readNext (1-based, 0 ends).
	reads    chainHeads
	readKey  []uint64
	readTok  []uint32
	readNext []uint32

	// Whole names (whole.go, RuleWholeName): each name of two tokens or
	// more filed under the hash of its token set, chained through
	// wholeNext (1-based, 0 ends); wholeKey is 0 for a name not filed.
	wholeHeads chainHeads
	wholeKey   []uint64
	wholeNext  []uint32

	// Names, in flat arrays: name n holds tokens nameToks[nameStart[n]:nameStart[n+1]].
	nameEntry []uint32
	nameKind  []Kind // KindUnknown marks a removed name
	nameStart []uint32
	nameToks  []uint32
	// nameMeta is one word per name, read once per candidate: a 56-bit
	// Bloom signature of the name's tokens (their vocabulary numbers and
	// variant groups), through which the lists of common tokens that
	// retrieval does not walk still add their weight to the candidates it
	// found; the number of tokens; and the kind (KindUnknown once removed).
	nameMeta []uint64

	entries []entryRecord
	// Entries by ID: dense IDs (the match index numbers its alerts from
	// 1) in byIDs, 1-based, 0 for none; others in byID.
	byIDs     []uint32
	byID      map[uint32]uint32
	natSets   map[string][]string // interned nationalities, by their join
	liveNames int
	liveCount int
	deadNames int

	states chan *searchState // free list of search scratch
}

// NewIndex returns an empty index.
func NewIndex(opts Options) *Index {
	lx := defaultLexicon()
	ix := &Index{
		lx:          lx,
		opts:        opts.withDefaults(),
		seed:        newHashSeed(),
		vocab:       map[string]uint32{},
		skelVocab:   map[string]uint32{},
		concatVocab: map[uint64]uint32{},
		groupPost:   make([][]uint32, len(lx.groupName)),
		groupDF:     make([]uint32, len(lx.groupName)),
		nameStart:   []uint32{0},
		byID:        map[uint32]uint32{},
		natSets:     map[string][]string{},
		states:      make(chan *searchState, 4*runtime.GOMAXPROCS(0)),
	}
	return ix
}

// Len returns the number of live entries.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.liveCount
}

// Add indexes e. An entry with an ID already present replaces the old one.
// Names that normalise to nothing are skipped.
func (ix *Index) Add(e Entry) {
	p := ix.Prepare(e)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.addPrepared(&p)
}

// Prepared is an Entry made ready to index by Prepare: its names
// normalised (aliases that normalise like an earlier name dropped), its
// birth date, nationalities and sex parsed, and the keys its names are
// filed under hashed. That is most of the work of Add, and it reads
// nothing of the index that Add changes, so that many entries are
// prepared on every core while one goroutine adds them (AddAll).
type Prepared struct {
	seed   hashSeed
	rec    entryRecord // nats not interned yet; first and count set when added
	natKey string      // the nationalities joined, their key in natSets
	names  []preparedName
}

// preparedName is one name of a Prepared entry.
type preparedName struct {
	toks []token
	keys []uint64 // the keys of joined tokens, in the order addName files them
}

// WithID returns p for the entry ID id.
func (p Prepared) WithID(id uint32) Prepared {
	p.rec.id = id
	return p
}

// Prepare does the work of Add(e) that needs no lock. It is safe to call
// from any number of goroutines, while the index is used or changed; its
// result is for AddPrepared of the same index.
func (ix *Index) Prepare(e Entry) Prepared {
	kind := e.Kind
	var firstToks []token
	if kind == KindUnknown {
		kind = KindPerson
		if len(e.Names) > 0 {
			if firstToks = normalize(ix.lx, KindUnknown, e.Names[0]); len(firstToks) > 0 && hasLegal(firstToks) {
				kind = KindCompany
			}
		}
	}
	p := Prepared{
		seed: ix.seed,
		rec: entryRecord{
			id:    e.ID,
			kind:  kind,
			birth: packDate(parseBirthDate(e.BirthDate)),
			nats:  normCountries(e.Nationalities),
			sex:   normSex(e.Sex),
		},
		names: make([]preparedName, 0, len(e.Names)),
	}
	p.natKey = natSetKey(p.rec.nats)
	for _, n := range e.Names {
		toks := normalize(ix.lx, kind, n)
		if len(toks) == 0 {
			continue
		}
		dup := false
		for _, q := range p.names {
			dup = dup || sameJoined(q.toks, toks)
		}
		if dup {
			continue // an alias that normalises like an earlier name adds nothing
		}
		p.names = append(p.names, preparedName{toks: toks, keys: ix.nameKeys(kind, toks, make([]uint64, 0, 2*len(toks)+2))})
	}
	return p
}

// AddPrepared indexes the entry p was prepared from, as Add does.
func (ix *Index) AddPrepared(p Prepared) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.addPrepared(&p)
}

// AddAll indexes es as Add would one by one, in that order, giving the
// same index: the entries are prepared on every core, then added under
// one lock.
func (ix *Index) AddAll(es []Entry) {
	ps := make([]Prepared, len(es))
	workers := min(runtime.GOMAXPROCS(0), (len(es)+63)/64)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(es); i += workers {
				ps[i] = ix.Prepare(es[i])
			}
		}()
	}
	wg.Wait()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for i := range ps {
		ix.addPrepared(&ps[i])
	}
}

// addPrepared is AddPrepared with the lock held.
func (ix *Index) addPrepared(p *Prepared) {
	if p.seed != ix.seed {
		// Keys hashed with another index's seed would file the names
		// where no query looks: hash them again.
		for i := range p.names {
			p.names[i].keys = ix.nameKeys(p.rec.kind, p.names[i].toks, nil)
		}
	}
	if _, ok := ix.entryOf(p.rec.id); ok {
		ix.removeLocked(p.rec.id)
	}
	rec := p.rec
	rec.nats = ix.internNats(rec.nats, p.natKey)
	rec.first = uint32(len(ix.nameEntry))
	idx := uint32(len(ix.entries))
	for _, n := range p.names {
		ix.addName(idx, rec.kind, n.toks, n.keys)
		rec.count++
	}
	ix.entries = append(ix.entries, rec)
	ix.setEntry(rec.id, idx)
	ix.liveCount++
}

// sameJoined says whether two token lists join (with single spaces, as
// the dedup of aliases compares them) to the same text.
func sameJoined(a, b []token) bool {
	i, j, ai, bj := 0, 0, 0, 0 // token and byte positions in a and b
	// next returns the byte at token t, offset o of toks, a space between
	// tokens, and whether the text continues there.
	next := func(toks []token, t, o int) (byte, int, int, bool) {
		if t >= len(toks) {
			return 0, t, o, false
		}
		if o < len(toks[t].text) {
			return toks[t].text[o], t, o + 1, true
		}
		if t+1 < len(toks) {
			return ' ', t + 1, 0, true
		}
		return 0, t + 1, 0, false
	}
	for {
		var ca, cb byte
		var oka, okb bool
		ca, i, ai, oka = next(a, i, ai)
		cb, j, bj, okb = next(b, j, bj)
		if oka != okb || ca != cb {
			return false
		}
		if !oka {
			return true
		}
	}
}

// entryOf returns the entry number of an ID.
func (ix *Index) entryOf(id uint32) (uint32, bool) {
	if uint64(id) < uint64(len(ix.byIDs)) {
		idx := ix.byIDs[id]
		return idx - 1, idx != 0
	}
	idx, ok := ix.byID[id]
	return idx, ok
}

// setEntry files entry idx under id: in byIDs while IDs stay dense (below
// twice the entries held, plus some), in the map otherwise.
func (ix *Index) setEntry(id, idx uint32) {
	if uint64(id) >= uint64(len(ix.byIDs)) && uint64(id) < 2*uint64(len(ix.entries))+1024 {
		ix.byIDs = append(ix.byIDs, make([]uint32, int(id)+1-len(ix.byIDs))...)
		ix.byIDs = ix.byIDs[:cap(ix.byIDs)]
		for k, v := range ix.byID { // IDs the slice now covers move in
			if uint64(k) < uint64(len(ix.byIDs)) {
				ix.byIDs[k] = v + 1
				delete(ix.byID, k)
			}
		}
	}
	if uint64(id) < uint64(len(ix.byIDs)) {
		ix.byIDs[id] = idx + 1
		return
	}
	ix.byID[id] = idx
}

// dropEntry forgets the entry filed under id.
func (ix *Index) dropEntry(id uint32) {
	if uint64(id) < uint64(len(ix.byIDs)) {
		ix.byIDs[id] = 0
		return
	}
	delete(ix.byID, id)
}

// internNats returns nats as a slice shared with every entry of the same
// nationalities: a few hundred distinct lists stand for all entries. key
// is natSetKey(nats).
func (ix *Index) internNats(nats []string, key string) []string {
	if len(nats) == 0 {
		return nil
	}
	if s, ok := ix.natSets[key]; ok {
		return s
	}
	s := slices.Clip(nats)
	ix.natSets[key] = s
	return s
}

// natSetKey is the key under which natSets files a list of
// nationalities.
func natSetKey(nats []string) string {
	if len(nats) == 0 {
		return ""
	}
	return strings.Join(nats, ",")
}

func hasLegal(toks []token) bool {
	for _, t := range toks {
		if t.class == classLegal {
			return true
		}
	}
	return false
}

// addName adds a name of entry, made of toks, filed also under keys
// (nameKeys).
func (ix *Index) addName(entry uint32, kind Kind, toks []token, keys []uint64) {
	n := uint32(len(ix.nameEntry))
	ix.nameEntry = append(ix.nameEntry, entry)
	ix.nameKind = append(ix.nameKind, kind)
	groupsSeen := [8]uint32{}
	ng := 0
	var sig uint64
	for _, t := range toks {
		id := ix.vocabID(t)
		ix.nameToks = append(ix.nameToks, id)
		vt := &ix.toks[id]
		sig |= sigBits(sigToken, id)
		if vt.group != 0 {
			sig |= sigBits(sigGroup, vt.group)
		}
		if l := len(vt.post); l == 0 || vt.post[l-1] != n {
			vt.post = append(vt.post, n)
			vt.df++
			sp := &ix.skelPost[vt.skel]
			if l := len(*sp); l == 0 || (*sp)[l-1] != n {
				*sp = append(*sp, n)
			}
		}
		if g := vt.group; g != 0 {
			dup := false
			for _, s := range groupsSeen[:ng] {
				dup = dup || s == g
			}
			if !dup {
				if ng < len(groupsSeen) {
					groupsSeen[ng] = g
					ng++
				}
				ix.groupPost[g] = append(ix.groupPost[g], n)
				ix.groupDF[g]++
			}
		}
	}
	for _, k := range keys {
		ix.fileConcat(k, n)
	}
	ix.nameStart = append(ix.nameStart, uint32(len(ix.nameToks)))
	ix.fileWhole(n)
	ix.nameMeta = append(ix.nameMeta, sig|uint64(min(len(toks), metaLenMask))<<metaLenShift|uint64(kind)<<metaKindShift)
	ix.liveNames++
}

// nameKeys appends to keys the keys of joined tokens a name of kind made
// of toks is filed under, in the order they are filed: adjacent pairs,
// then a company's acronyms or another name's compounds and names written
// with their article joined. It reads only the seed and the lexicon.
func (ix *Index) nameKeys(kind Kind, toks []token, keys []uint64) []uint64 {
	for i := 0; i+1 < len(toks); i++ {
		// Keyed by hash: a collision only adds a candidate, which the
		// full score then rejects.
		var h keyHash
		h.SetSeed(ix.seed)
		h.WriteString(toks[i].text)
		h.WriteString(toks[i+1].text)
		keys = append(keys, h.Sum64())
	}
	if kind == KindCompany {
		return ix.acronymKeys(toks, keys)
	}
	ix.compoundKeys(toks, func(key uint64, _ int) { keys = append(keys, key) })
	// A name written with its article joined (Elsharif) is found by
	// the name alone, as a word written in two is.
	for _, t := range toks {
		if name, ok := articleJoined(t.text); ok && t.class == className && ix.lx.groups[t.text] == 0 {
			keys = append(keys, keyedHash(ix.seed, name))
		}
	}
	return keys
}

// fileConcat files name n under key in the table of joined tokens
// (adjacent pairs and acronyms).
func (ix *Index) fileConcat(key uint64, n uint32) {
	cid, ok := ix.concatVocab[key]
	if !ok {
		cid = uint32(len(ix.concatPost))
		ix.concatVocab[key] = cid
		ix.concatPost = append(ix.concatPost, nil)
	}
	if l := len(ix.concatPost[cid]); l == 0 || ix.concatPost[cid][l-1] != n {
		ix.concatPost[cid] = append(ix.concatPost[cid], n)
	}
}

// What a signature bit stands for.
const (
	sigToken = 1 // a vocabulary token
	sigGroup = 2 // a variant group
)

// The fields of nameMeta above the signature.
const (
	sigWidth      = 56
	metaLenShift  = 56
	metaLenMask   = 63
	metaKindShift = 62
)

// sigBits returns the two signature bits of a token or a group.
func sigBits(kind, id uint32) uint64 {
	h := (uint64(id)<<2 | uint64(kind)) * 0x9e3779b97f4a7c15
	return 1<<((h>>32)*sigWidth>>32) | 1<<((h&0xffffffff)*sigWidth>>32)
}

// metaKind is the kind recorded in a nameMeta word.
func metaKind(m uint64) Kind { return Kind(m >> metaKindShift) }

// metaLen is the token count recorded in a nameMeta word.
func metaLen(m uint64) uint32 { return uint32(m>>metaLenShift) & metaLenMask }

// vocabID returns the vocabulary number of t, adding it (with its
// skeleton, variant group and fuzzy keys) when new.
func (ix *Index) vocabID(t token) uint32 {
	if id, ok := ix.vocab[t.text]; ok {
		return id
	}
	id := uint32(len(ix.toks))
	sk := skeleton(t.text)
	sid, ok := ix.skelVocab[sk]
	if !ok {
		sid = uint32(len(ix.skelPost))
		ix.skelVocab[sk] = sid
		ix.skelPost = append(ix.skelPost, nil)
		ix.skelText = append(ix.skelText, sk)
	}
	ix.toks = append(ix.toks, vocabToken{text: t.text, mask: letterMask(t.text), skel: sid, group: ix.lx.groups[t.text], syl: syllableCode(t.text), class: t.class})
	ix.vocab[t.text] = id
	ix.fileReading(id)
	if fuzzyEligible(t) {
		ix.addDelKey(t.text, id)
		var buf [64]byte
		// A three-letter token is filed under itself only: it meets the
		// query tokens that add or drop a letter, not those that change
		// one (a third of the token: "EP-MNG" and "EP-MNH" are two
		// aircraft, not one misspelt).
		for i := 0; i < len(t.text) && len(t.text) <= len(buf) && len(t.text) > 3; i++ {
			k := append(append(buf[:0], t.text[:i]...), t.text[i+1:]...)
			if i > 0 && t.text[i] == t.text[i-1] {
				continue // same deletion as the previous letter
			}
			ix.addDelKey(string(k), id)
		}
	}
	return id
}

// fuzzyEligible says whether a vocabulary token gets fuzzy keys: tokens
// of four or more letters, and ordinary name tokens of three (acronyms,
// short names, filed under themselves only), so that an acronym typed
// with a letter more or less still meets its alert.
func fuzzyEligible(t token) bool {
	if len(t.text) == 3 {
		return t.class == className
	}
	return len(t.text) >= 4 && t.class != classNumber
}

func (ix *Index) addDelKey(k string, id uint32) {
	h := keyedHash(ix.seed, k)
	ix.delTok = append(ix.delTok, id)
	ix.delKey = append(ix.delKey, h)
	ix.delNext = append(ix.delNext, ix.dels.head(h, ix.delKey))
	ix.dels.set(h, uint32(len(ix.delTok)), ix.delKey)
}

// delHead returns the 1-based head of the chain of tokens filed under
// the fuzzy key hash h, 0 for none.
func (ix *Index) delHead(h uint64) uint32 { return ix.dels.head(h, ix.delKey) }

// chainHeads maps a 64-bit key to the 1-based head of its chain in
// arrays that record each entry's key (keys): an open-addressing table of
// 4-byte slots, the key read through the head it holds. At a million
// fuzzy keys it takes 16 MB with the keys, where a Go map took 39 MB.
type chainHeads struct {
	slots []uint32 // 0 empty; length a power of two
	n     int
}

// head returns the head filed under h, 0 for none.
func (c *chainHeads) head(h uint64, keys []uint64) uint32 {
	if len(c.slots) == 0 {
		return 0
	}
	mask := uint64(len(c.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		p := c.slots[i]
		if p == 0 {
			return 0
		}
		if keys[p-1] == h {
			return p
		}
	}
}

// set files head p under h (keys[p-1] is h), replacing the one there.
func (c *chainHeads) set(h uint64, p uint32, keys []uint64) {
	if (c.n+1)*2 > len(c.slots) { // at most half full: a probe reads a key elsewhere
		old := c.slots
		c.slots = make([]uint32, max(1024, 2*len(old)))
		c.n = 0
		for _, q := range old {
			if q != 0 {
				c.put(keys[q-1], q, keys)
			}
		}
	}
	c.put(h, p, keys)
}

func (c *chainHeads) put(h uint64, p uint32, keys []uint64) {
	mask := uint64(len(c.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		q := c.slots[i]
		if q == 0 {
			c.slots[i] = p
			c.n++
			return
		}
		if keys[q-1] == h {
			c.slots[i] = p
			return
		}
	}
}

// Remove drops the entry with the given ID; unknown IDs are ignored. The
// entry's names stay in the posting lists as tombstones until Compact (run
// automatically once a quarter of the names are dead).
func (ix *Index) Remove(id uint32) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.removeLocked(id)
	if ix.deadNames > 1024 && ix.deadNames*4 > len(ix.nameEntry) {
		ix.compactLocked()
	}
}

func (ix *Index) removeLocked(id uint32) {
	idx, ok := ix.entryOf(id)
	if !ok {
		return
	}
	rec := &ix.entries[idx]
	for n := rec.first; n < rec.first+rec.count; n++ {
		ix.nameKind[n] = KindUnknown
		ix.nameMeta[n] &^= 3 << metaKindShift
		seen := map[uint32]bool{}
		for _, tid := range ix.nameToks[ix.nameStart[n]:ix.nameStart[n+1]] {
			if seen[tid] {
				continue
			}
			seen[tid] = true
			ix.toks[tid].df--
			if g := ix.toks[tid].group; g != 0 && ix.groupDF[g] > 0 {
				ix.groupDF[g]--
			}
		}
		ix.liveNames--
		ix.deadNames++
	}
	rec.dead = true
	ix.dropEntry(id)
	ix.liveCount--
}

// Compact drops tombstones from every posting list. Searches wait while it
// runs; it costs about as much as walking all postings once.
func (ix *Index) Compact() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.compactLocked()
}

func (ix *Index) compactLocked() {
	keep := func(l []uint32) []uint32 {
		out := l[:0]
		for _, n := range l {
			if ix.nameKind[n] != KindUnknown {
				out = append(out, n)
			}
		}
		return out
	}
	for i := range ix.toks {
		ix.toks[i].post = keep(ix.toks[i].post)
	}
	for i := range ix.skelPost {
		ix.skelPost[i] = keep(ix.skelPost[i])
	}
	for i := range ix.groupPost {
		ix.groupPost[i] = keep(ix.groupPost[i])
	}
	for i := range ix.concatPost {
		ix.concatPost[i] = keep(ix.concatPost[i])
	}
	ix.deadNames = 0
}

// tokenWeight turns how many live names hold a token (or its variant
// group) into its weight in [0.12, 1]: a token held by one name in ten
// thousand or fewer weighs 1, one held by every tenth name weighs 0.12.
// The class then scales it (legal forms, particles and initials weigh
// little), so that "Mohammed", "LLC" or "Trading" alone carry too little
// to make a hit.
func (ix *Index) tokenWeight(df uint32, class tokenClass) float64 {
	n := float64(max(ix.liveNames, 20000))
	f := (float64(df) + 1) / n
	w := (-math.Log10(f) - 1) / 3
	w = min(1, max(0.12, w))
	switch class {
	case classLegal:
		w = min(w, 0.25)
	case classStop:
		w = min(w, 0.1)
	case classParticle:
		w = min(w, 0.2)
	case classInitial:
		w = 0.25
	case classNumber:
		w = min(w, 0.25)
	}
	return w
}
