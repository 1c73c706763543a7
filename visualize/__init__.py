"""visualize: computation graphs to DOT/SVG through Graphviz, and training plots."""
