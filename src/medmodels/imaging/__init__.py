"""2-D MRI slice classification with a small PyTorch CNN."""
