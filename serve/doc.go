// Package serve answers HTTP requests with a trained model: the Open Inference Protocol (v2)
// over REST, as KServe and Triton speak it, a plain JSON endpoint, Prometheus metrics, and
// batching across concurrent requests. `seqclf serve` runs it.
//
//	s, err := serve.New("runs/default/model.db", serve.Config{Name: "spam"})
//	if err != nil { ... }
//	l, err := net.Listen("tcp", "127.0.0.1:8080")
//	if err != nil { ... }
//	go s.Serve(l)
//	...
//	s.Shutdown(ctx) // answers the requests under way, then closes the model
//
// # Basics
//
// The routes, with {name} the Config's Name:
//
//	GET  /v2/health/live, /v2/health/ready   {"live": true}, {"ready": true}
//	GET  /v2                                 the server's name, version and extensions (none)
//	GET  /v2/models/{name}                   the model's inputs, outputs, kind and classes
//	GET  /v2/models/{name}/ready             {"name": ..., "ready": true}
//	POST /v2/models/{name}/infer             the protocol's inference
//	POST /v2/repository/models/{name}/load   Reload
//	POST /v1/classify                        {"texts": [...]} → {"predictions": [...]}
//	GET  /metrics                            Prometheus' text format
//
// A text model takes one input, "text", BYTES of shape [N] or [N, 1], and answers two outputs:
// "label", BYTES [N], and "probabilities", FP32 [N, classes] in the order of the metadata's
// classes. A model of images takes one input, "image", FP32 [N, rows, columns] (28×28 for
// MNIST), each value a pixel in [0, 1] as the model reads it: the value is stored as the byte
// round(value × 255), so a byte b sent as b/255 is read exactly. Data may be flat or nested as
// the shape, row-major either way. A request may name the outputs it wants.
//
// Requests queue for the model's workers (Config.Workers), each of which takes the first
// request waiting and then more, until the batch holds Config.MaxBatch inputs or
// Config.MaxDelay has passed, classifies the batch in one call and hands each request its
// answers; texts and images alike. The queue holds at most Config.Queue requests: past it a
// request is answered 503 with Retry-After at once. At most Queue + Workers × MaxBatch requests
// are read, queued or classified at once, so the bodies in memory are bounded too.
//
// Errors are the protocol's: {"error": "..."} with status 400 for a request the model cannot
// read, 404 for another model's name, 413 for a body over Config.MaxBody, 503 with
// Retry-After for a full queue or a request that waited too long.
//
// [Server.Reload] opens the model file again and swaps the new model in atomically; requests
// already queued are answered by the old one, which is then closed. A file that is missing or
// does not open is refused, with a log line, and the old model goes on answering.
//
// The metrics, in a registry of the server's own: seqclf_http_requests_total{route, code},
// seqclf_http_request_duration_seconds{route}, seqclf_batch_size, seqclf_queue_depth,
// seqclf_model_info{name, kind, file}, seqclf_model_reloads_total{result}, and Go's and the
// process's.
//
// # Caveats
//
// A request's answers do not depend on the requests batched with it, up to the last bits: as
// for [github.com/seqclf/seqclf.Model.Classify], batches of up to four samples sum in another
// order than larger ones. A batch under way is not interrupted: a client that leaves is
// dropped from the queue, not from the model. Pixels sent as FP32 are rounded to the nearest
// 1/255, the precision the model was trained on; values outside [0, 1] are an error. Binary
// tensor data (the protocol's extension) and model versions are not supported; BYTES data is
// JSON strings. One server answers one model file; Handler alone has none of the Config's
// timeouts, which belong to the http.Server that Serve runs.
package serve
