// Package sqs is barge's Amazon SQS domain service: queues (standard and FIFO), their
// attributes, tags and policies, messages with AWS's MD5 digests, long polling, visibility
// timeouts, dead-letter queues and message move tasks.
//
// Queues are store resources (store.KindSQSQueue) of the account that signed the call; their
// messages are store.Messages keyed by the queue's incarnation id, so a queue deleted and made
// again never sees its predecessor's messages. Every send is durable before it is answered, and a
// receive is one store claim (store.Store.MessageReceive): a message is never delivered to two
// receivers inside its visibility timeout, and an in-flight message becomes visible again when
// its timeout passes, also after a crash. Receivers waiting in a long poll are woken in-process
// the moment a send, a visibility change or a FIFO delete makes a message receivable.
//
// The methods take and return the generated wire shapes of internal/awstypes/sqs; the HTTP edge
// (internal/api) serves them over the JSON and the query protocol.
package sqs
