package opts

import (
	"strings"

	"github.com/keelhq/keel/server/conf"
)

// Bounds of jetstream.max_concurrent_io, as nats-server has them.
const (
	minConcurrentIO = 4
	maxConcurrentIO = 8192
)

// jetstream decodes `jetstream: true|false|enabled|disabled` or the
// jetstream {} block (which enables JetStream unless enabled: false).
// setStoreDir is shared with the top-level store_dir, which may be given
// only once.
func (d *decoder) jetstream(it item, o *Options, setStoreDir func(item)) {
	switch it.v.Kind {
	case conf.KindBool:
		o.JetStream = it.v.Bool
		return
	case conf.KindString:
		switch strings.ToLower(it.v.Str) {
		case "enabled", "enable":
			o.JetStream = true
		case "disabled", "disable":
			o.JetStream = false
		default:
			d.errorf(it, "Expected 'enabled' or 'disabled' for string value, got '%s'", it.v.Str)
		}
		return
	case conf.KindMap:
	default:
		d.errorf(it, "Expected map, bool or string to define JetStream, got %s", it.v.Describe())
		return
	}
	js := &o.JetStreamOpts
	enable := true
	cipher := func(dst *string) func(item) {
		return func(it item) {
			s, ok := d.str(it)
			if !ok {
				return
			}
			switch strings.ToLower(s) {
			case "chacha", "chachapoly":
				*dst = "chacha"
			case "aes":
				*dst = "aes"
			default:
				d.errorf(it, "Unknown cipher type: %q", s)
			}
		}
	}
	sync := func(it item) {
		if it.v.Kind == conf.KindString && strings.EqualFold(it.v.Str, "always") {
			js.SyncAlways, js.SyncInterval = true, 0
			return
		}
		if dur, ok := d.duration(it, true); ok {
			js.SyncAlways, js.SyncInterval = false, dur
		}
	}
	storage := func(dst *int64) func(item) {
		return func(it item) {
			if n, ok := d.size(it); ok {
				*dst = n
			}
		}
	}
	count := func(dst *int64) func(item) {
		return func(it item) {
			if it.v.Kind != conf.KindInt {
				d.errorf(it, "Expected a parseable size for %q, got %s", it.name(), it.v.Describe())
				return
			}
			*dst = it.v.Int
		}
	}
	fs := fields{
		"strict":         d.setBool(&js.Strict),
		"store":          setStoreDir,
		"store_dir":      setStoreDir,
		"storedir":       setStoreDir,
		"sync":           sync,
		"sync_interval":  sync,
		"domain":         d.setStr(&js.Domain),
		"enable":         d.setBool(&enable),
		"enabled":        d.setBool(&enable),
		"cipher":         cipher(&js.Cipher),
		"extension_hint": d.setStr(&js.ExtensionHint),
		"unique_tag": func(it item) {
			if s, ok := d.str(it); ok {
				js.UniqueTag = strings.ToLower(strings.TrimSpace(s))
			}
		},
		"max_outstanding_catchup": storage(&js.MaxCatchup),
		"max_buffered_size":       storage(&js.MaxBufferedSize),
		"max_buffered_msgs": func(it item) {
			var n int64
			count(&n)(it)
			js.MaxBufferedMsgs = int(n)
		},
		"request_queue_limit": count(&js.RequestQueueLimit),
		"info_queue_limit":    count(&js.InfoQueueLimit),
		"meta_compact": func(it item) {
			if it.v.Kind != conf.KindInt || it.v.Int < 0 {
				d.errorf(it, "Expected an absolute size for %q, got %s", it.name(), it.v.Describe())
				return
			}
			js.MetaCompact = uint64(it.v.Int)
		},
		"meta_compact_size": func(it item) {
			n, ok := d.size(it)
			if ok && n < 0 {
				d.errorf(it, "Expected an absolute size for %q, got %s", it.name(), it.v.Describe())
				return
			}
			js.MetaCompactSize = uint64(n)
		},
		"meta_compact_sync": d.setBool(&js.MetaCompactSync),
		"max_concurrent_io": func(it item) {
			if it.v.Kind != conf.KindInt || it.v.Int < minConcurrentIO || it.v.Int > maxConcurrentIO {
				d.errorf(it, "Expected an absolute size for %q between 4 and 8192, got %s", it.name(), it.v.Describe())
				return
			}
			js.MaxConcurrentIO = int(it.v.Int)
		},
		"limits": func(it item) { d.jetstreamLimits(it, &js.Limits) },
		// Keel's own: the engine's decoded-block cache ceiling.
		"block_cache": func(it item) {
			n, ok := d.size(it)
			if ok && n <= 0 {
				d.errorf(it, "Expected a positive size for %q, got %s", it.name(), it.v.Describe())
				return
			}
			js.BlockCache = n
		},
		"tpm": func(it item) {
			js.TPM = d.jetstreamTPM(it, cipher)
			d.unsupported(it, featJetStreamTPM)
		},
	}
	for _, k := range []string{"max_memory_store", "max_mem_store", "max_mem"} {
		fs[k] = storage(&js.MaxMemory)
	}
	for _, k := range []string{"max_file_store", "max_file"} {
		fs[k] = storage(&js.MaxStore)
	}
	for _, k := range []string{"key", "ek", "encryption_key"} {
		fs[k] = d.setStr(&js.Key)
	}
	for _, k := range []string{"prev_key", "prev_ek", "prev_encryption_key"} {
		fs[k] = d.setStr(&js.PrevKey)
	}
	d.block(it, fs)
	o.JetStream = enable
}

func (d *decoder) jetstreamLimits(it item, l *JetStreamLimits) {
	if it.v.Kind != conf.KindMap {
		d.errorf(it, "Expected a map to define JetStreamLimits, got %s", it.v.Describe())
		return
	}
	d.block(it, fields{
		"max_ack_pending":       d.setInt(&l.MaxAckPending),
		"max_ha_assets":         d.setInt(&l.MaxHAAssets),
		"max_request_batch":     d.setInt(&l.MaxRequestBatch),
		"default_max_consumers": d.setInt(&l.DefaultMaxConsumers),
		"duplicate_window":      d.setDur(&l.Duplicates, false),
		"batch": func(it item) {
			if it.v.Kind != conf.KindMap {
				d.errorf(it, "Expected a map to define batch limits, got %s", it.v.Describe())
				return
			}
			d.block(it, fields{
				"max_inflight_per_stream": d.setInt(&l.MaxBatchInflightPerStream),
				"max_inflight_total":      d.setInt(&l.MaxBatchInflightTotal),
				"max_msgs":                d.setInt(&l.MaxBatchSize),
				"timeout":                 d.setDur(&l.MaxBatchTimeout, false),
			})
		},
	})
}

func (d *decoder) jetstreamTPM(it item, cipher func(*string) func(item)) *JetStreamTPM {
	if it.v.Kind != conf.KindMap {
		d.errorf(it, "Expected a map to define JetStreamLimits, got %s", it.v.Describe())
		return nil
	}
	t := &JetStreamTPM{}
	d.block(it, fields{
		"keys_file":           d.setStr(&t.KeysFile),
		"encryption_password": d.setStr(&t.KeyPassword),
		"srk_password":        d.setStr(&t.SrkPassword),
		"pcr":                 d.setInt(&t.PCR),
		"cipher":              cipher(&t.Cipher),
	})
	return t
}
