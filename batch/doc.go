// Package batch runs chat completions through the OpenAI Batch API, at half
// the online price, and matches the answers back to their requests.
//
// A [Client] wraps go-openai's files and batches calls. [Client.Run] takes a
// [Job] of [Request]s, each a chat completion with a stable custom_id, and:
//
//  1. writes the requests as JSONL input files, one line per request,
//     splitting them into parts (see below);
//  2. uploads each part (purpose "batch") and creates one batch per part
//     with the completion window ([WithCompletionWindow], "24h");
//  3. hands each new batch id to the [WithOnCreated] hook, so that the
//     caller can persist it and pick the batches up after a restart with
//     [Client.Resume];
//  4. polls the batches with backoff ([WithPollInterval]) until every one
//     is over, reporting [Progress] to the [WithProgress] callback; a done
//     ctx stops the polling (the batches go on running upstream; cancel
//     them with [Client.Cancel]);
//  5. downloads the output and error files and returns one [Result] per
//     request, matched by custom_id, in request order.
//
// # Limits and splitting
//
// The API takes at most 50 000 requests per batch and an input file of at
// most 200 MB. Run splits a job into consecutive parts that each stay under
// both limits ([WithMaxRequests], default [DefaultMaxRequests]; and
// [WithMaxFileBytes], default [DefaultMaxFileBytes]): requests are added to
// the current part, in order, until the next one would cross either limit,
// and then a new part starts. Each part is one file and one batch. A single
// request whose JSONL line alone is larger than the byte limit is not sent:
// its Result carries [ErrTooLarge]. The limits are options so that a test
// can exercise splitting with tiny values.
//
// # Errors
//
// Errors are reported where they belong:
//
//   - per request, in Result.Err: an [*ItemError] when the API answered the
//     request with an error (a 4xx or 5xx status, or an error line such as
//     "batch_expired"), a [*LineError] (matching [ErrMalformedLine]) when
//     its output line could not be parsed, [ErrNoResult] when neither file
//     holds a line for it, the batch's [*BatchError] when its batch ended
//     before running it;
//   - per batch, as Run's error: a [*BatchError] (matching [ErrFailed],
//     [ErrExpired] or [ErrCancelled]) for each batch that did not complete,
//     joined with errors.Join; the results of the requests that did run
//     are still returned;
//   - per line: output lines that are not valid JSON and name no known
//     custom_id are listed in Report.LineErrors, without losing the good
//     lines around them.
//
// A ctx that is done makes Run return ctx's error.
package batch
