package blockstore

import "time"

// expireLoop applies OpExpire to streams whose NextExpiry is due
// (Options.AutoExpire): the clock is read here, never inside Apply.
func (e *Engine) expireLoop() {
	defer e.wg.Done()
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-timer.C:
		case <-e.expireKick:
		}
		now := time.Now()
		next := now.Add(time.Second)
		for _, st := range e.Streams() {
			at := st.NextExpiry()
			if at.IsZero() {
				continue
			}
			if !at.After(now) {
				if _, err := st.Apply(&Command{Op: OpExpire, Time: now.UnixNano()}); err != nil {
					e.log.Warnf("blockstore: expire %s: %v", st.Config().Name, err)
				}
				if at = st.NextExpiry(); at.IsZero() {
					continue
				}
			}
			if at.Before(next) {
				next = at
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(max(time.Until(next), time.Millisecond))
	}
}
