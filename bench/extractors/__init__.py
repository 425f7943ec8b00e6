"""Feature extractors: ONNX-exported CNNs run with onnxruntime over image corpora."""
