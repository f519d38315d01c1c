package jsapi

import (
	"fmt"
	"time"
)

// Sizes and defaults of stream configurations, as the reference has them.
const (
	MaxNameLen        = 255        // stream and consumer names
	MaxDescriptionLen = 4 * 1024   // stream and consumer descriptions
	MaxMetadataLen    = 128 * 1024 // sum of the lengths of metadata keys and values
	MaxReplicas       = 5

	// DefaultDuplicateWindow is the duplicate_window of a stream that sets
	// none, unless max_age or the server's max_duplicate_window is smaller.
	DefaultDuplicateWindow = 2 * time.Minute
	// MinMaxAge and MinDuplicateWindow are the smallest non-zero values.
	MinMaxAge          = 100 * time.Millisecond
	MinDuplicateWindow = 100 * time.Millisecond
	// MinSubjectDeleteMarkerTTL is the smallest non-zero marker TTL.
	MinSubjectDeleteMarkerTTL = time.Second

	// DefaultMaxConsumersPerStream is the server's default max_consumers
	// limit per stream (jetstream { limits { ... } }).
	DefaultMaxConsumersPerStream = 1000
)

// Limits are the server and account settings a stream configuration is
// checked against. The zero value limits nothing.
type Limits struct {
	// MaxDuplicateWindow is the server's max_duplicate_window; 0 for none.
	MaxDuplicateWindow time.Duration
	// MaxBytesRequired makes max_bytes mandatory (account limit).
	MaxBytesRequired bool
	// MemoryMaxStreamBytes and StoreMaxStreamBytes cap one stream's
	// max_bytes by storage type (account limits); 0 or less for none.
	MemoryMaxStreamBytes int64
	StoreMaxStreamBytes  int64
}

// applyLimitDefaults fills the unlimited limits, the storage and replica
// defaults and the duplicate window, and checks the values it touches.
// Order matters: it is the reference's, so the first error found is the
// reference's first error.
func applyLimitDefaults(cfg *StreamConfig, lim Limits, pedantic bool) *ApiError {
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if cfg.Replicas > MaxReplicas {
		return ErrStreamInvalidConfig(fmt.Errorf("maximum replicas is %d", MaxReplicas))
	}
	if cfg.Replicas < 0 {
		return ErrReplicasCountCannotBeNegative()
	}

	// 0 and anything below -1 mean unlimited (-1); pedantic mode refuses
	// the values below -1 rather than rewriting them.
	unlimited := func(v int64, field string) (int64, *ApiError) {
		if v == 0 || v < -1 {
			if pedantic && v < -1 {
				return 0, ErrPedantic(fmt.Errorf("%s must be set to -1", field))
			}
			return -1, nil
		}
		return v, nil
	}
	var err *ApiError
	if cfg.MaxMsgs, err = unlimited(cfg.MaxMsgs, "max_msgs"); err != nil {
		return err
	}
	if cfg.MaxMsgsPerSubject, err = unlimited(cfg.MaxMsgsPerSubject, "max_msgs_per_subject"); err != nil {
		return err
	}
	if cfg.MaxBytes, err = unlimited(cfg.MaxBytes, "max_bytes"); err != nil {
		return err
	}
	size, err := unlimited(int64(cfg.MaxMsgSize), "max_msg_size")
	if err != nil {
		return err
	}
	cfg.MaxMsgSize = int32(size)
	consumers, err := unlimited(int64(cfg.MaxConsumers), "max_consumers")
	if err != nil {
		return err
	}
	cfg.MaxConsumers = int(consumers)

	if cfg.MaxAge < 0 {
		return ErrStreamInvalidConfig(fmt.Errorf("max age can not be negative"))
	}
	if cfg.MaxAge != 0 && cfg.MaxAge < MinMaxAge {
		return ErrStreamInvalidConfig(fmt.Errorf("max age needs to be >= 100ms"))
	}

	// Mirrors and sourcing streams get no default window: their messages
	// were deduplicated where they were first stored.
	if cfg.DuplicateWindow == 0 && cfg.Mirror == nil && len(cfg.Sources) == 0 {
		window := DefaultDuplicateWindow
		if lim.MaxDuplicateWindow > 0 && window > lim.MaxDuplicateWindow {
			if pedantic {
				return ErrPedantic(fmt.Errorf("duplicate window limits are higher than current limits"))
			}
			window = lim.MaxDuplicateWindow
		}
		if cfg.MaxAge != 0 && cfg.MaxAge < window {
			if pedantic {
				return ErrPedantic(fmt.Errorf("duplicate window cannot be bigger than max age"))
			}
			window = cfg.MaxAge
		}
		cfg.DuplicateWindow = window
	}
	if cfg.DuplicateWindow < 0 {
		return ErrStreamInvalidConfig(fmt.Errorf("duplicates window can not be negative"))
	}
	if cfg.MaxAge != 0 && cfg.DuplicateWindow > cfg.MaxAge {
		return ErrStreamInvalidConfig(fmt.Errorf("duplicates window can not be larger then max age"))
	}
	if lim.MaxDuplicateWindow > 0 && cfg.DuplicateWindow > lim.MaxDuplicateWindow {
		return ErrStreamInvalidConfig(fmt.Errorf("duplicates window can not be larger then server limit of %v",
			lim.MaxDuplicateWindow.String()))
	}
	if cfg.DuplicateWindow > 0 && cfg.DuplicateWindow < MinDuplicateWindow {
		return ErrStreamInvalidConfig(fmt.Errorf("duplicates window needs to be >= 100ms"))
	}
	return nil
}

// maxStreamBytes is the account's cap on this stream's max_bytes.
func (l Limits) maxStreamBytes(st StorageType) int64 {
	if st == MemoryStorage {
		return l.MemoryMaxStreamBytes
	}
	return l.StoreMaxStreamBytes
}
