// Package export writes seqclf's models in formats other programs read (safetensors for
// PyTorch, ONNX for ONNX Runtime and Triton), and reads safetensors back.
//
// # Basics
//
// Safetensors writes a model file as a directory PyTorch can load:
//
//   - model.safetensors: the tensors under the names and layouts of a PyTorch state_dict of
//     nn.Embedding (embedding.weight [V, E], left out for a model of images); nn.LSTM
//     (lstm.weight_ih_l{k} [4H, I], lstm.weight_hh_l{k} [4H, H], lstm.bias_ih_l{k} and
//     lstm.bias_hh_l{k} [4H], gates in the order i, f, g, o) or nn.GRU (gru.weight_ih_l{k}
//     [3H, I], gru.weight_hh_l{k} [3H, H], gru.bias_ih_l{k} and gru.bias_hh_l{k} [3H], gates r,
//     z, n), each with the _reverse tensors of the backward direction when bidirectional (I is
//     2H above layer 0 then, the forward direction's H first); the additive attention
//     (attention.weight [H, E] as nn.Linear(E, H) holds it, attention.bias [H], attention.v [H])
//     for attention pooling; and nn.Linear (fc.weight [C, E], fc.bias [C]), E being H or 2H. Its
//     __metadata__ holds the classes (a JSON list), cell, bidirectional, pooling, time_step,
//     unit, slice and tokenizer settings (JSON), each as a string as the format requires.
//   - config.json: Config, the shape and the input settings.
//   - vocab.txt: for text, one token a line, the line number its id.
//
// Import reads such a directory, written by seqclf or by scripts/seqclf_torch.py from a model
// trained in PyTorch, and writes a model file that `seqclf classify` runs.
//
// WriteONNX (and MarshalONNX) writes a model as an ONNX graph (opset 14) for ONNX Runtime or
// Triton: Gather on the embedding table, one ONNX LSTM or GRU operator a layer (gates reordered
// to ONNX's i, o, f, c or z, r, h; direction forward or bidirectional; sequence_lens from the
// lengths), the pooling over real steps, MatMul, Add and Softmax; its doc comment gives the
// inputs and outputs. The protobuf messages are encoded with protowire, field by field as
// onnx.proto numbers them: no generated code.
//
// Every cell (LSTM, GRU), direction and pooling (last, mean, max, attention) of package lstm
// has both forms; a model of a kind this package does not know gives an error wrapping
// ErrNotExportable and no file.
//
// The safetensors format is an 8-byte little-endian header length, a JSON header (name →
// dtype, shape, data_offsets; offsets relative to the first byte after the header), and the raw
// little-endian tensors, contiguous. WriteSafetensors pads the header with spaces to a multiple
// of 8 bytes; ReadSafetensors reads F32 tensors only.
//
// # Caveats
//
// seqclf's LSTM layer has one bias where PyTorch has two that it adds. Export writes seqclf's as
// bias_ih and zeros as bias_hh; import stores their float32 sum, which is rounded as PyTorch's
// own sum is (the same value, though the order of additions in the gates may differ by an ulp).
// A GRU layer's r and z gates are the same; its n gate has b_in outside r ⊙ (…) and b_hn inside,
// which seqclf keeps apart as PyTorch does: bias_ih = [b_r, b_z, b_in], bias_hh = [0, 0, b_hn].
// A GRU's zero blocks of W (see package lstm) are not written; import leaves them zero.
//
// Tokenizing stays in seqclf: a program outside it gets the ids from `seqclf tokenize --ids
// --model MODEL.db`. Dropout, the training history and the dictionary's corpus counts are not
// exported; an imported model's table is not trainable and its counts are 0.
package export
