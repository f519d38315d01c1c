package blockstore

import (
	"container/list"
	"sync"
)

// blockCache holds decoded older blocks of every stream of an engine, least
// recently used first out, within a byte ceiling. Active blocks are not in
// it: their streams hold them.
type blockCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	lru   *list.List // of *cacheEntry, most recent at the front
	items map[cacheKey]*list.Element

	hits, misses uint64
}

type cacheKey struct{ stream, block uint64 }

type cacheEntry struct {
	key  cacheKey
	data *blockData
}

func newBlockCache(max int64) *blockCache {
	return &blockCache{max: max, lru: list.New(), items: make(map[cacheKey]*list.Element)}
}

func (c *blockCache) get(stream, block uint64) *blockData {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[cacheKey{stream, block}]
	if !ok {
		c.misses++
		return nil
	}
	c.hits++
	c.lru.MoveToFront(e)
	return e.Value.(*cacheEntry).data
}

// put adds (or replaces) a block and evicts the oldest beyond the ceiling.
// A block larger than the whole ceiling is still cached alone, so a
// stream can always read its own blocks.
func (c *blockCache) put(stream, block uint64, d *blockData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey{stream, block}
	if e, ok := c.items[k]; ok {
		c.size -= e.Value.(*cacheEntry).data.memSize()
		c.lru.Remove(e)
		delete(c.items, k)
	}
	c.items[k] = c.lru.PushFront(&cacheEntry{key: k, data: d})
	c.size += d.memSize()
	for c.size > c.max && c.lru.Len() > 1 {
		e := c.lru.Back()
		ce := e.Value.(*cacheEntry)
		c.lru.Remove(e)
		delete(c.items, ce.key)
		c.size -= ce.data.memSize()
	}
}

// drop forgets a block (removed, rewritten or truncated).
func (c *blockCache) drop(stream, block uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey{stream, block}
	if e, ok := c.items[k]; ok {
		c.size -= e.Value.(*cacheEntry).data.memSize()
		c.lru.Remove(e)
		delete(c.items, k)
	}
}

// dropStream forgets every block of a stream.
func (c *blockCache) dropStream(stream uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.items {
		if k.stream == stream {
			c.size -= e.Value.(*cacheEntry).data.memSize()
			c.lru.Remove(e)
			delete(c.items, k)
		}
	}
}

// stats returns the bytes held and the hit and miss counts.
func (c *blockCache) stats() (size int64, hits, misses uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size, c.hits, c.misses
}
