// Command loadgen measures a running `seqclf serve` on this machine: requests per second and the
// 50th and 99th percentile latency with 1, 8 and 64 clients sending one input per request.
//
//	loadgen run --url http://127.0.0.1:8080 --texts texts.txt              # POST /v1/classify
//	loadgen run --url http://127.0.0.1:8080 --images t10k-images-idx3-ubyte.gz --name mnist
//	                                                   # POST /v2/models/mnist/infer, FP32
//	loadgen texts configs/data/spamassassin-sample.jsonl.gz > texts.txt   # one text a line
//	loadgen freeport                                   # a free loopback port, for run.sh
//
// It sends requests to loopback only (it refuses any other host) and each level of clients
// stops at --requests requests or after --duration, whichever comes first. It prints a markdown
// table. bench/loadgen/run.sh trains the models, starts the server and runs it.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(os.Args[2:])
	case "texts":
		err = textsCmd(os.Args[2:])
	case "freeport":
		err = freePortCmd()
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: loadgen run --url URL (--texts FILE | --images FILE) [flags]    (loadgen run -h for the flags)
       loadgen texts FILE.jsonl[.gz]     the "text" of each line, one a line, newlines made spaces
       loadgen freeport                  print a free TCP port on 127.0.0.1`)
	os.Exit(2)
}
