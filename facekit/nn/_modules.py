"""Default networks: a compact CNN and the shared-weight Siamese wrapper."""

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["EmbeddingNet", "SiameseNetwork"]


class EmbeddingNet(nn.Module):
    """A compact CNN that maps a face image to an L2-normalised embedding.

    ``depth`` blocks of ``convs_per_block`` × (3×3 convolution, batch norm,
    ReLU) each followed by 2×2 max pooling (channels ``width``, ``2 * width``,
    … capped at ``8 * width``), then adaptive average pooling to
    ``pool_size × pool_size`` (so any input size works; the default suits
    inputs of about 32×32 to 64×64), a linear layer to ``embedding_dim`` and
    L2 normalisation.

    Parameters
    ----------
    in_channels : int, default=1
        1 for grayscale, 3 for RGB.
    width : int, default=32
        Channels of the first block.
    depth : int, default=4
        Number of convolution blocks.
    embedding_dim : int, default=128
        Size of the embedding.
    convs_per_block : int, default=1
        Convolutions in each block.
    pool_size : int, default=4
        Side of the feature map after adaptive average pooling.
    dropout : float, default=0.0
        Dropout before the last linear layer.
    normalize : bool, default=True
        L2-normalise the output.
    channels_last : bool, default=True
        Store the convolution weights in the channels-last memory format, which
        makes PyTorch's CPU (oneDNN) convolutions markedly faster for these
        small networks (about 1.5× here); the results are the same up to
        floating-point round-off.

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import EmbeddingNet
    >>> net = EmbeddingNet(width=4, depth=2, embedding_dim=8)
    >>> out = net(torch.rand(3, 1, 16, 16))
    >>> tuple(out.shape), bool(torch.allclose(out.norm(dim=1), torch.ones(3)))
    ((3, 8), True)
    """

    def __init__(
        self,
        in_channels=1,
        *,
        width=32,
        depth=4,
        embedding_dim=128,
        convs_per_block=1,
        pool_size=4,
        dropout=0.0,
        normalize=True,
        channels_last=True,
    ):
        super().__init__()
        layers = []
        c_in = in_channels
        for i in range(depth):
            c_out = width * 2 ** min(i, 3)
            for _ in range(convs_per_block):
                layers += [
                    nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                    nn.BatchNorm2d(c_out),
                    nn.ReLU(inplace=True),
                ]
                c_in = c_out
            # ceil_mode keeps sides of 1 pixel alive (one-row images)
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.fc = nn.Linear(c_in * pool_size * pool_size, embedding_dim)
        self.normalize = normalize
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x):
        """Embed a batch of images ``(n, in_channels, height, width)``."""
        z = self.pool(self.features(x)).flatten(1)
        z = self.fc(self.dropout(z))
        return F.normalize(z, dim=1) if self.normalize else z


class SiameseNetwork(nn.Module):
    """Shared-weight wrapper: every image of a pair or triplet uses one network.

    ``forward`` embeds single images ``(n, C, H, W)`` to ``(n, d)`` or pairs
    ``(n, 2, C, H, W)`` to ``(n, 2, d)`` (both sides go through the same
    ``embedding`` module in one batch) and L2-normalises the result (unless
    ``normalize=False``). ``head``
    is the logistic unit ``w · |f(a) - f(b)| + b`` of the pair objective.

    Parameters
    ----------
    embedding : torch.nn.Module
        The network ``(n, C, H, W) -> (n, embedding_dim)``.
    embedding_dim : int
        Output size of ``embedding``.
    normalize : bool, default=True
        L2-normalise the embeddings.

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import EmbeddingNet, SiameseNetwork
    >>> net = SiameseNetwork(EmbeddingNet(width=4, depth=2, embedding_dim=8), 8)
    >>> pairs = torch.rand(5, 2, 1, 16, 16)
    >>> emb = net(pairs)
    >>> tuple(emb.shape), tuple(net.pair_logits(emb[:, 0], emb[:, 1]).shape)
    ((5, 2, 8), (5,))
    """

    def __init__(self, embedding, embedding_dim, normalize=True):
        super().__init__()
        self.embedding = embedding
        self.head = nn.Linear(embedding_dim, 1)
        self.normalize = normalize

    def forward(self, x):
        """Embed images ``(n, C, H, W)`` or pairs ``(n, 2, C, H, W)``."""
        if x.dim() == 5:
            n = x.shape[0]
            return self.forward(x.flatten(0, 1)).view(n, x.shape[1], -1)
        z = self.embedding(x)
        return F.normalize(z, dim=1) if self.normalize else z

    def pair_logits(self, emb_a, emb_b):
        """Logit of *same person*: ``w · |emb_a - emb_b| + b``, shape ``(n,)``."""
        return self.head(torch.abs(emb_a - emb_b)).squeeze(-1)
