package service

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/psremote/psremote/internal/shell"
	"github.com/psremote/psremote/wsman"
)

// maxEnumContexts bounds open enumeration contexts server-wide; the
// oldest is dropped beyond it.
const maxEnumContexts = 1024

// enumStore keeps the remaining items of open enumerations
// ([MS-WSMV] 3.1.4.8-3.1.4.10).
type enumStore struct {
	mu   sync.Mutex
	ctxs map[string]*enumCtx // guarded by mu
}

type enumCtx struct {
	owner   string
	items   []shell.Info
	expires time.Time
	created time.Time
}

func newEnumStore() *enumStore { return &enumStore{ctxs: map[string]*enumCtx{}} }

func (st *enumStore) put(owner string, items []shell.Info, ttl time.Duration) string {
	now := time.Now()
	st.mu.Lock()
	defer st.mu.Unlock()
	var oldestID string
	var oldest time.Time
	for id, c := range st.ctxs {
		if now.After(c.expires) {
			delete(st.ctxs, id)
			continue
		}
		if oldestID == "" || c.created.Before(oldest) {
			oldestID, oldest = id, c.created
		}
	}
	if len(st.ctxs) >= maxEnumContexts {
		delete(st.ctxs, oldestID)
	}
	id := "uuid:" + wsman.NewUUID()
	st.ctxs[id] = &enumCtx{owner: owner, items: items, expires: now.Add(ttl), created: now}
	return id
}

// take removes up to n items; it reports false for an unknown, expired or
// foreign context.
func (st *enumStore) take(id, owner string, n int, ttl time.Duration) ([]shell.Info, bool, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	c, ok := st.ctxs[id]
	if !ok || c.owner != owner || time.Now().After(c.expires) {
		delete(st.ctxs, id)
		return nil, false, false
	}
	n = min(n, len(c.items))
	out := c.items[:n]
	c.items = c.items[n:]
	end := len(c.items) == 0
	if end {
		delete(st.ctxs, id)
	} else {
		c.expires = time.Now().Add(ttl)
	}
	return out, end, true
}

func (st *enumStore) release(id, owner string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	c, ok := st.ctxs[id]
	if !ok || c.owner != owner {
		return false
	}
	delete(st.ctxs, id)
	return true
}

func faultInvalidContext() *wsman.Fault {
	return &wsman.Fault{Code: wsman.CodeReceiver, Subcode: wsman.SubInvalidEnumContext, WSManCode: 2150858807,
		Message: "The WS-Management service cannot process the request because the enumeration context is not valid or has expired. "}
}

func maxElements(e *wsman.Element, limit int) int {
	n := 1
	if m := e.Child(wsman.NsWSMan, "MaxElements"); m != nil {
		if v, err := strconv.Atoi(m.TrimText()); err == nil && v > 0 {
			n = v
		}
	} else if m := e.Child(wsman.NsEnum, "MaxElements"); m != nil {
		if v, err := strconv.Atoi(m.TrimText()); err == nil && v > 0 {
			n = v
		}
	}
	return min(n, limit)
}

func (s *Service) enumerate(env *wsman.Envelope, owner shell.Owner) (*Reply, error) {
	b, err := s.body(env, "Enumerate")
	if err != nil {
		return nil, err
	}
	if !b.Is(wsman.NsEnum, "Enumerate") {
		return nil, wsman.FaultSchema("the Enumerate body must be a wsen:Enumerate element")
	}
	if b.Child(wsman.NsWSMan, "Filter") != nil || b.Child(wsman.NsEnum, "Filter") != nil {
		return nil, &wsman.Fault{Code: wsman.CodeSender, Subcode: wsman.SubFilteringNotSupported, WSManCode: 2150858806,
			Message: "The WS-Management service cannot process the request because filtering is not supported for shells. "}
	}
	items := s.eng.List(owner)
	optimized := b.Child(wsman.NsWSMan, "OptimizeEnumeration") != nil
	var first []shell.Info
	end := false
	if optimized {
		n := maxElements(b, s.cfg.MaxBatchItems)
		first = items[:min(n, len(items))]
		items = items[len(first):]
		end = len(items) == 0
	}
	ctxID := ""
	if !end {
		ctxID = s.enums.put(owner.Principal, items, s.cfg.EnumerationTimeout)
	}
	return s.ok(env, wsman.ActionEnumerate+"Response", func(buf *bytes.Buffer) {
		buf.WriteString(`<n:EnumerateResponse><n:EnumerationContext>`)
		wsman.EscapeText(buf, ctxID)
		buf.WriteString(`</n:EnumerationContext>`)
		if optimized {
			buf.WriteString(`<w:Items>`)
			for i := range first {
				wsman.WriteShell(buf, toWire(first[i]))
			}
			buf.WriteString(`</w:Items>`)
			if end {
				buf.WriteString(`<w:EndOfSequence/>`)
			}
		}
		buf.WriteString(`</n:EnumerateResponse>`)
	}), nil
}

func enumContext(b *wsman.Element) string {
	return strings.TrimSpace(b.Child(wsman.NsEnum, "EnumerationContext").TrimText())
}

func (s *Service) pull(env *wsman.Envelope, owner shell.Owner) (*Reply, error) {
	b, err := s.body(env, "Pull")
	if err != nil {
		return nil, err
	}
	if !b.Is(wsman.NsEnum, "Pull") {
		return nil, wsman.FaultSchema("the Pull body must be a wsen:Pull element")
	}
	id := enumContext(b)
	items, end, ok := s.enums.take(id, owner.Principal, maxElements(b, s.cfg.MaxBatchItems), s.cfg.EnumerationTimeout)
	if !ok {
		return nil, faultInvalidContext()
	}
	return s.ok(env, wsman.ActionPull+"Response", func(buf *bytes.Buffer) {
		buf.WriteString(`<n:PullResponse>`)
		if !end {
			buf.WriteString(`<n:EnumerationContext>`)
			wsman.EscapeText(buf, id)
			buf.WriteString(`</n:EnumerationContext>`)
		}
		buf.WriteString(`<n:Items>`)
		for i := range items {
			wsman.WriteShell(buf, toWire(items[i]))
		}
		buf.WriteString(`</n:Items>`)
		if end {
			buf.WriteString(`<n:EndOfSequence/>`)
		}
		buf.WriteString(`</n:PullResponse>`)
	}), nil
}

func (s *Service) release(env *wsman.Envelope, owner shell.Owner) (*Reply, error) {
	b, err := s.body(env, "Release")
	if err != nil {
		return nil, err
	}
	if !s.enums.release(enumContext(b), owner.Principal) {
		return nil, faultInvalidContext()
	}
	return s.ok(env, wsman.ActionRelease+"Response", nil), nil
}
