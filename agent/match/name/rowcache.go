package name

// simCell is one token pair's outcome of tokSim.
type simCell struct {
	sim    float64
	method Method
}

// rowSlots is the size of a search's table of alert-token rows, a power
// of two: the 40 candidates of a long name hold a few hundred distinct
// tokens at most.
const rowSlots = 1024

// rowProbes bounds the probing of the row table; past it a row is
// computed and not kept.
const rowProbes = 8

// rowCache keeps, for one search, each alert vocabulary token's row of
// tokSim outcomes against the query's tokens. The candidates of a query
// share many tokens (that is why they were gathered), and scoring each
// candidate compared those tokens with every query token again: a third
// of a long name's search. The row is the same every time, since tokSim
// reads only the two tokens, the kind and the rules switched off, all
// fixed for one search, so reusing it changes no score.
type rowCache struct {
	gen   uint32 // the current search; a slot of another generation is free
	q     []stok // the query tokens of the rows
	slots [rowSlots]rowSlot
	cells []simCell
	// weights of the alert tokens met, direct-mapped by vocabulary id
	// (a token's weight takes a logarithm, per candidate token).
	weights [weightSlots]weightSlot
}

// weightSlots is the size of the direct-mapped table of token weights.
const weightSlots = 512

type weightSlot struct {
	gen uint32
	id  uint32
	w   float64
}

// weight returns the weight kept for vocabulary token id in this search;
// ok is false when none is kept (or rc is nil).
func (rc *rowCache) weight(id uint32) (w float64, ok bool) {
	if rc == nil {
		return 0, false
	}
	s := &rc.weights[id&(weightSlots-1)]
	if s.gen != rc.gen || s.id != id {
		return 0, false
	}
	return s.w, true
}

// keepWeight keeps w as the weight of vocabulary token id in this
// search, in place of whatever shared its slot.
func (rc *rowCache) keepWeight(id uint32, w float64) {
	if rc != nil {
		rc.weights[id&(weightSlots-1)] = weightSlot{gen: rc.gen, id: id, w: w}
	}
}

type rowSlot struct {
	gen uint32
	key uint64 // vocabulary id and kind
	off int32  // the row's first cell in cells
}

// reset empties the cache for a search of the query tokens q, which must
// not change until the next reset.
func (rc *rowCache) reset(q []stok) {
	rc.gen++
	if rc.gen == 0 { // wrapped: stale stamps would read as current
		rc.slots = [rowSlots]rowSlot{}
		rc.weights = [weightSlots]weightSlot{}
		rc.gen = 1
	}
	rc.q = q
	rc.cells = rc.cells[:0]
}

// row returns the tokSim outcomes of each query token against the alert
// token c, of vocabulary id vid, for kind: computed once per search and
// kind. The slice is valid until the next reset.
func (rc *rowCache) row(c *stok, vid uint32, kind Kind, off RuleSet) []simCell {
	q := rc.q
	key := uint64(vid)<<8 | uint64(kind)
	h := uint32(key*0x9e3779b97f4a7c15>>32) & (rowSlots - 1)
	free := -1
	for p := uint32(0); p < rowProbes; p++ {
		i := int((h + p) & (rowSlots - 1))
		s := &rc.slots[i]
		if s.gen != rc.gen {
			free = i
			break
		}
		if s.key == key {
			return rc.cells[s.off : int(s.off)+len(q)]
		}
	}
	start := len(rc.cells)
	for i := range q {
		sim, m := tokSim(&q[i], c, kind, off)
		rc.cells = append(rc.cells, simCell{sim: sim, method: m})
	}
	if free >= 0 {
		rc.slots[free] = rowSlot{gen: rc.gen, key: key, off: int32(start)}
	}
	return rc.cells[start:]
}
