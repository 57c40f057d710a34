// Package quant runs a trained lstm.Model with int8 weights: the same network, about a quarter of
// the bytes, and matrix multiplies on int8 dot-product instructions (AVX-512 VNNI or AVX2).
//
// # The scheme
//
// Each layer's fused weight W ((input_dim+H) × 4H, see package lstm) is cut into its input rows
// Wx and its recurrent rows Wh, and each is quantized symmetrically with a scale per output: per
// column of W, which is per row of PyTorch's weight_ih and weight_hh (4H × input), so that every
// dot product that makes one pre-activation has one weight scale:
//
//	s_j   = max_k |W[k][j]| / 127            (one for Wx's column j, one for Wh's)
//	Q[k][j] = round(W[k][j] / s_j)           in [-127, 127]
//
// with s_j rounded up to a half-precision value, as a file keeps it.
//
// The activations are quantized dynamically, at each step and for each sample alone: the input
// row x_t and the previous output h_{t-1} each get the scale max|·|/127 of their own values. An
// embedding table is int8 with a scale per row (per token), so a text model's first layer reads
// the stored row as it is, with no quantization at run time. A step is then
//
//	z = (q(x_t)·Qx)·sx·s_x,j + (q(h_{t-1})·Qh)·sh·s_h,j + b
//
// the products summed exactly in int32 and scaled in float32. The biases, the gate
// non-linearities, the cell state, the pooling (attention included) and the head run in float32;
// the head's weights are kept as int8 values with a scale per column too, and made float32 once.
// An LSTM's gates quantize the outputs they make, for the next step, in the same pass.
//
// # Basics
//
//	q, err := quant.New(m, table)           // m an *lstm.Model[float32]; table nil for float inputs
//	ws := q.NewWorkspace()
//	logits := q.Forward(ws, quant.Batch{X: x, Lengths: lengths, Steps: steps})        // float inputs
//	logits = q.Forward(ws, quant.Batch{Tokens: ids, Lengths: lengths, Steps: steps})  // token ids
//
// # Kernels
//
// The int8 kernels (internal/qkernel) run on AVX-512 VNNI where the CPU has it, else on AVX2,
// else in pure Go; SEQCLF_CPU caps them as it caps package lstm's. An LSTM's gates run on a
// kernel of their own there too (qkernel.LSTMStep: sigmoid and tanh from one 2^t, a degree-4
// polynomial, and two divisions a unit), which gives the float32 gates' values within a few
// units of 1e-6; a GRU's are the float32 model's own (the vector σ and tanh of
// kernel.GRUForward).
//
// # Caveats
//
// Quantization moves the logits a little (about 1% of their size in the tests), and so a close
// prediction now and then: on the MNIST and SpamAssassin test sets the accuracy moved by at most
// a hundredth of a point. The int8 kernels sum exactly and convert in one order, and an LSTM's
// gates run the same operations in the same order on every path (no fused multiply-adds), so
// their results are the same bits on every path; the float32 kernels (a GRU's gates, the
// attention, the head) may differ in the last bits between CPU kinds, as they do for the float32
// model. The slices Forward and Probs return belong to the workspace. Shapes that do not agree
// panic. On AVX2 alone the int8 model is only about 1.5 times as fast as the float32 one
// (VPMADDUBSW needs four instructions where VPDPBUSD needs one).
package quant
