"""nn: neurons, layers, MLPs, losses, optimizers, data sets and training on ``autograd.Value``."""
