package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/barge-run/barge/internal/awserr"
	lambdaw "github.com/barge-run/barge/internal/awstypes/lambda"
	lw "github.com/barge-run/barge/internal/awstypes/logs"
	"github.com/barge-run/barge/internal/logs"
)

// maxSubscriptions is CloudWatch's limit of subscription filters per log group.
const maxSubscriptions = 2

func (s *Server) putSubscriptionFilter(ctx context.Context, account string, in *lw.PutSubscriptionFilterRequest) (*logsEmpty, error) {
	if s.subs == nil {
		return nil, invalidParam("subscription filters need barge's Lambda service")
	}
	if in.FilterName == "" || len(in.FilterName) > 512 || strings.ContainsAny(in.FilterName, ":*") {
		return nil, invalidParam("filterName: 1 to 512 characters, without ':' or '*'")
	}
	if _, err := logs.CompilePattern(in.FilterPattern); err != nil {
		return nil, logsError(err)
	}
	if !strings.HasPrefix(in.DestinationArn, "arn:aws:lambda:") {
		return nil, invalidParam("destinationArn: barge delivers to Lambda functions only (arn:aws:lambda:…), not %q", in.DestinationArn)
	}
	if _, err := s.cfg.Lambda.GetFunction(ctx, account, &lambdaw.GetFunctionRequest{FunctionName: in.DestinationArn}); err != nil {
		return nil, invalidParam("Could not deliver test message to specified destination. Check if the destination is valid. (%v)", err)
	}
	var limited bool
	var subs []logs.Subscription
	err := s.cfg.Logs.UpdateGroup(account, in.LogGroupName, func(g *logs.GroupInfo) {
		sub := logs.Subscription{Name: in.FilterName, Pattern: in.FilterPattern, Destination: in.DestinationArn,
			Role: in.RoleArn, Distribution: string(in.Distribution), Created: time.Now().UnixMilli()}
		if i := slices.IndexFunc(g.Subscriptions, func(x logs.Subscription) bool { return x.Name == in.FilterName }); i >= 0 {
			g.Subscriptions[i] = sub
		} else if len(g.Subscriptions) >= maxSubscriptions {
			limited = true
			return
		} else {
			g.Subscriptions = append(g.Subscriptions, sub)
		}
		subs = g.Subscriptions
	})
	if err != nil {
		return nil, logsError(err)
	}
	if limited {
		return nil, awserr.New(http.StatusBadRequest, "LimitExceededException", "Resource limit exceeded.")
	}
	s.subs.set(account, in.LogGroupName, subs)
	return &logsEmpty{}, nil
}

func (s *Server) describeSubscriptionFilters(_ context.Context, account string, in *lw.DescribeSubscriptionFiltersRequest) (*lw.DescribeSubscriptionFiltersResponse, error) {
	g, err := s.cfg.Logs.Group(account, in.LogGroupName)
	if err != nil {
		return nil, logsError(err)
	}
	out := &lw.DescribeSubscriptionFiltersResponse{SubscriptionFilters: []lw.SubscriptionFilter{}}
	for _, sub := range g.Subscriptions {
		if strings.HasPrefix(sub.Name, in.FilterNamePrefix) {
			out.SubscriptionFilters = append(out.SubscriptionFilters, lw.SubscriptionFilter{FilterName: sub.Name, LogGroupName: in.LogGroupName,
				FilterPattern: sub.Pattern, DestinationArn: sub.Destination, RoleArn: sub.Role, Distribution: lw.Distribution(sub.Distribution),
				CreationTime: ptr(sub.Created)})
		}
	}
	return out, nil
}

func (s *Server) deleteSubscriptionFilter(_ context.Context, account string, in *lw.DeleteSubscriptionFilterRequest) (*logsEmpty, error) {
	found := false
	var subs []logs.Subscription
	err := s.cfg.Logs.UpdateGroup(account, in.LogGroupName, func(g *logs.GroupInfo) {
		n := len(g.Subscriptions)
		g.Subscriptions = slices.DeleteFunc(g.Subscriptions, func(x logs.Subscription) bool { return x.Name == in.FilterName })
		found, subs = len(g.Subscriptions) < n, g.Subscriptions
	})
	if err != nil {
		return nil, logsError(err)
	}
	if !found {
		return nil, awserr.New(http.StatusBadRequest, "ResourceNotFoundException", "The specified subscription filter does not exist.")
	}
	if s.subs != nil {
		s.subs.set(account, in.LogGroupName, subs)
	}
	return &logsEmpty{}, nil
}
