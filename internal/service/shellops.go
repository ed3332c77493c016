package service

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/psremote/psremote/internal/shell"
	"github.com/psremote/psremote/wsman"
)

// Fixed reply overhead of a ReceiveResponse besides its streams: the
// envelope, headers (a RelatesTo of up to 2 KB) and the wrapper element.
const receiveOverhead = 1024 + 2048 + 128

func toWire(i shell.Info) *wsman.ShellInfo {
	return &wsman.ShellInfo{ShellID: i.ShellID, Name: i.Name, ResourceURI: i.ResourceURI, Owner: i.Owner,
		ClientIP: i.ClientIP, IdleTimeout: i.IdleTimeout, InputStreams: i.InputStreams,
		OutputStreams: i.OutputStreams, RunTime: i.RunTime, Inactivity: i.Inactivity}
}

func (s *Service) create(ctx context.Context, req *Request, env *wsman.Envelope, owner shell.Owner) (*Reply, error) {
	b, err := s.body(env, "Create")
	if err != nil {
		return nil, err
	}
	cs, err := wsman.ParseCreateShell(b)
	if err != nil {
		return nil, err
	}
	opts := shell.CreateOptions{ShellID: cs.ShellID, Name: cs.Name, ResourceURI: wsman.ResourceCmdShell,
		Environment: cs.Environment, WorkingDirectory: cs.WorkingDirectory, IdleTimeout: cs.IdleTimeout,
		InputStreams: cs.InputStreams, OutputStreams: cs.OutputStreams}
	if o, ok := env.Option("WINRS_CODEPAGE"); ok {
		opts.CodePage = o.Value
	}
	opts.NoProfile = env.OptionBool("WINRS_NOPROFILE")
	info, err := s.eng.Create(ctx, owner, opts)
	if err != nil {
		return nil, err
	}
	s.logger.Info("shell created", "shell", info.ShellID, "user", owner.Principal, "runas", owner.RunAs.Name, "client", owner.ClientIP)
	addr := req.Endpoint
	if addr == "" {
		addr = wsman.AddressAnonymous
	}
	return s.ok(env, wsman.ActionCreate+"Response", func(b *bytes.Buffer) {
		wsman.WriteResourceCreated(b, addr, toWire(info))
	}), nil
}

func (s *Service) command(ctx context.Context, env *wsman.Envelope, owner shell.Owner) (*Reply, error) {
	id, err := shellID(env)
	if err != nil {
		return nil, err
	}
	b, err := s.body(env, "Command")
	if err != nil {
		return nil, err
	}
	cl, err := wsman.ParseCommandLine(b)
	if err != nil {
		return nil, err
	}
	cid, err := s.eng.Command(ctx, owner, id, shell.CommandSpec{CommandID: cl.CommandID, Command: cl.Command,
		Arguments: cl.Arguments, SkipCmdShell: env.OptionBool("WINRS_SKIP_CMD_SHELL")})
	if err != nil {
		return nil, err
	}
	return s.ok(env, wsman.ActionCommand+"Response", func(b *bytes.Buffer) {
		wsman.WriteCommandResponse(b, cid)
	}), nil
}

func (s *Service) send(ctx context.Context, env *wsman.Envelope, owner shell.Owner) (*Reply, error) {
	id, err := shellID(env)
	if err != nil {
		return nil, err
	}
	b, err := s.body(env, "Send")
	if err != nil {
		return nil, err
	}
	streams, err := wsman.ParseSend(b)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, s.timeout(env))
	defer cancel()
	for _, st := range streams {
		if err := s.eng.Send(sctx, owner, id, st.CommandID, st.Name, st.Data, st.End); err != nil {
			return nil, err
		}
	}
	return s.ok(env, wsman.ActionSend+"Response", func(b *bytes.Buffer) {
		b.WriteString(`<rsp:SendResponse/>`)
	}), nil
}

func (s *Service) receive(ctx context.Context, env *wsman.Envelope, owner shell.Owner) (*Reply, error) {
	id, err := shellID(env)
	if err != nil {
		return nil, err
	}
	b, err := s.body(env, "Receive")
	if err != nil {
		return nil, err
	}
	r, err := wsman.ParseReceive(b)
	if err != nil {
		return nil, err
	}
	avail := s.maxEnvelope(env)
	if env.Charset != wsman.UTF8 {
		avail /= 2
	}
	avail -= receiveOverhead + 4*wsman.StreamOverhead + wsman.StateOverhead
	budget := max(avail/4*3, 1)
	res, err := s.eng.Receive(ctx, owner, id, r.CommandID, r.Streams, budget, s.timeout(env))
	if err != nil {
		return nil, err
	}
	streams := make([]wsman.StreamData, 0, len(res.Chunks))
	for _, c := range res.Chunks {
		streams = append(streams, wsman.StreamData{Name: c.Stream, CommandID: res.CommandID, Data: c.Data, End: c.End})
	}
	state := &wsman.CommandState{CommandID: res.CommandID, State: wsman.CommandStateRunning}
	if res.Done {
		state.State = wsman.CommandStateDone
		state.ExitCode, state.HasExitCode = res.ExitCode, true
	}
	reply := s.ok(env, wsman.ActionReceive+"Response", func(b *bytes.Buffer) {
		wsman.WriteReceiveResponse(b, streams, state)
	})
	if reply.Status != http.StatusOK {
		res.Commit(false)
		return reply, nil
	}
	reply.Commit = res.Commit
	return reply, nil
}

func (s *Service) signal(ctx context.Context, env *wsman.Envelope, owner shell.Owner) (*Reply, error) {
	id, err := shellID(env)
	if err != nil {
		return nil, err
	}
	b, err := s.body(env, "Signal")
	if err != nil {
		return nil, err
	}
	sig, err := wsman.ParseSignal(b)
	if err != nil {
		return nil, err
	}
	var kind shell.Signal
	switch {
	case strings.EqualFold(sig.Code, wsman.SignalTerminate):
		kind = shell.SignalTerminate
	case strings.EqualFold(sig.Code, wsman.SignalCtrlC),
		strings.EqualFold(sig.Code, "powershell/signal/crtl_c"),
		strings.EqualFold(sig.Code, "powershell/signal/ctrl_c"):
		kind = shell.SignalCtrlC
	case strings.EqualFold(sig.Code, wsman.SignalCtrlBreak):
		kind = shell.SignalCtrlBreak
	default:
		return nil, &wsman.Fault{Code: wsman.CodeSender, Subcode: wsman.SubInvalidValue, WSManCode: wsman.ErrCodeInvalidParameter,
			Message: "The signal code " + sig.Code + " is not supported by this shell. "}
	}
	if err := s.eng.SignalCommand(ctx, owner, id, sig.CommandID, kind); err != nil {
		return nil, err
	}
	return s.ok(env, wsman.ActionSignal+"Response", func(b *bytes.Buffer) {
		b.WriteString(`<rsp:SignalResponse/>`)
	}), nil
}

func (s *Service) delete(ctx context.Context, env *wsman.Envelope, owner shell.Owner) (*Reply, error) {
	id, err := shellID(env)
	if err != nil {
		return nil, err
	}
	if err := s.eng.Delete(ctx, owner, id); err != nil {
		return nil, err
	}
	s.logger.Info("shell deleted", "shell", id, "user", owner.Principal)
	return s.ok(env, wsman.ActionDelete+"Response", nil), nil
}

func (s *Service) get(env *wsman.Envelope, owner shell.Owner) (*Reply, error) {
	id, err := shellID(env)
	if err != nil {
		return nil, err
	}
	info, err := s.eng.Get(owner, id)
	if err != nil {
		return nil, err
	}
	return s.ok(env, wsman.ActionGet+"Response", func(b *bytes.Buffer) {
		wsman.WriteShell(b, toWire(info))
	}), nil
}
