"""Reading dlib's binary serialisation format, in numpy, without dlib.

dlib (https://dlib.net) writes its models with its own ``serialize`` functions
(``dlib/serialize.h``, ``dlib/matrix/matrix.h``, ``dlib/cuda/tensor.h``). This
module reads the primitive encodings they produce; the readers of the model
files built on it (the face-recognition ResNet, the MMOD face detector, the
shape predictor) live beside the estimators that use them.

The encodings, as documented by dlib's source:

- an integer is one control byte -- its low four bits give the number of
  payload bytes (1 to 8, little-endian), bit 0x80 marks a negative value --
  followed by the payload (0 is written as ``01 00``);
- a ``float`` / ``double`` is a ``float_details``: an int64 mantissa and an
  int16 exponent, both integers as above, the value being
  ``mantissa * 2**exponent`` (exponents 32000, 32001 and 32002 stand for +inf,
  -inf and NaN);
- a ``bool`` is the character ``'1'`` or ``'0'``;
- a ``std::string`` is its length (an integer) and then its bytes;
- a ``std::vector`` is its length and then each element;
- a ``dlib::matrix`` is ``-nr``, ``-nc`` and then its elements row by row;
- a ``resizable_tensor`` is a version (2), the four dimensions
  ``(num_samples, k, nr, nc)`` and then raw little-endian float32 values;
- an ``alias_tensor`` (a view into a layer's parameter tensor) is a version
  (1) and its four dimensions, no values.

Every read checks the bytes left, so a truncated or corrupted file gives a
:class:`DlibFormatError` naming the file and the byte offset, never a huge
allocation or a numpy error.
"""

import math

import numpy as np

__all__ = ["DlibFormatError", "DlibReader"]

# A model file of dlib's is at most a few hundred MB; no single array in one is
# larger than this many elements.
_MAX_ELEMENTS = 1 << 28


class DlibFormatError(ValueError):
    """A file is not in (or not a valid instance of) dlib's format."""


class DlibReader:
    """Sequential reader over the bytes of one dlib-serialised file.

    Parameters
    ----------
    data : bytes
        The file's contents.
    name : str, default="<bytes>"
        The file's name, for error messages.

    Examples
    --------
    >>> reader = DlibReader(bytes([0x01, 0x05, 0x81, 0x05, 0x01, 0x02, 0x68, 0x69]))
    >>> reader.read_int(), reader.read_int(), reader.read_string()
    (5, -5, 'hi')
    >>> reader.at_end()
    True
    """

    def __init__(self, data, name="<bytes>"):
        self._data = memoryview(bytes(data))
        self.name = str(name)
        self.pos = 0

    @classmethod
    def from_file(cls, path):
        """Read a whole file into a reader (errors name ``path``)."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise DlibFormatError(f"{path}: cannot read: {exc}") from None
        return cls(data, name=str(path))

    # -- errors and bounds -------------------------------------------------------
    def error(self, message):
        """A :class:`DlibFormatError` naming the file and the current offset."""
        return DlibFormatError(
            f"{self.name}: not a valid dlib model file at byte {self.pos}: {message}"
        )

    def _take(self, n):
        if n < 0 or self.pos + n > len(self._data):
            raise self.error(
                f"needs {n} more bytes, only {len(self._data) - self.pos} left "
                "(truncated or corrupted file)"
            )
        out = self._data[self.pos : self.pos + n]
        self.pos += n
        return out

    def at_end(self):
        """Whether every byte has been read."""
        return self.pos == len(self._data)

    def remaining(self):
        """How many bytes are left."""
        return len(self._data) - self.pos

    # -- primitives --------------------------------------------------------------
    def read_int(self):
        """An integer (signed or unsigned)."""
        (control,) = self._take(1)
        size = control & 0x0F
        if size == 0 or size > 8 or control & 0x70:
            raise self.error(f"bad integer control byte 0x{control:02x}")
        value = int.from_bytes(self._take(size), "little")
        return -value if control & 0x80 else value

    def read_float(self):
        """A ``float`` or ``double`` written as mantissa and exponent."""
        start = self.pos
        (control,) = self._take(1)
        self.pos = start
        if control & 0x70:
            raise self.error("old ASCII float encoding is not supported")
        mantissa = self.read_int()
        exponent = self.read_int()
        if exponent == 32000:
            return math.inf
        if exponent == 32001:
            return -math.inf
        if exponent == 32002:
            return math.nan
        try:
            return math.ldexp(float(mantissa), exponent)
        except OverflowError:
            raise self.error("float out of range") from None

    def read_bool(self):
        """A ``bool`` (the character '1' or '0')."""
        (ch,) = self._take(1)
        if ch not in (ord("0"), ord("1")):
            raise self.error(f"bad bool byte 0x{ch:02x}")
        return ch == ord("1")

    def read_string(self, max_length=1 << 16):
        """A ``std::string``, decoded as latin-1."""
        n = self.read_int()
        if n < 0 or n > max_length:
            raise self.error(f"string length {n} out of range")
        return bytes(self._take(n)).decode("latin-1")

    def expect_string(self, *allowed):
        """Read a version string and check that it is one of ``allowed``."""
        start = self.pos
        value = self.read_string()
        if value not in allowed:
            self.pos = start
            expected = " or ".join(map(repr, allowed))
            raise self.error(f"expected {expected}, found {value!r}")
        return value

    def expect_int(self, *allowed):
        """Read an integer version tag and check it."""
        value = self.read_int()
        if value not in allowed:
            raise self.error(f"expected version {allowed}, found {value}")
        return value

    def read_length(self, what="vector"):
        """A non-negative element count that the bytes left can hold."""
        n = self.read_int()
        if n < 0 or n > _MAX_ELEMENTS or n > self.remaining():
            raise self.error(f"{what} length {n} out of range")
        return n

    def read_vector(self, read_element):
        """A ``std::vector``: its length, then ``read_element()`` that often."""
        n = self.read_length()
        return [read_element() for _ in range(n)]

    def read_float_matrix(self):
        """A ``dlib::matrix`` of floats as a float64 array of shape (nr, nc)."""
        nr, nc = self.read_int(), self.read_int()
        if nr > 0 or nc > 0:
            raise self.error(
                "old matrix encoding (positive dimensions) is not supported"
            )
        nr, nc = -nr, -nc
        if nr * nc > min(_MAX_ELEMENTS, self.remaining()):
            raise self.error(f"matrix of {nr} x {nc} out of range")
        values = [self.read_float() for _ in range(nr * nc)]
        return np.asarray(values, dtype=np.float64).reshape(nr, nc)

    def read_tensor(self):
        """A ``resizable_tensor`` as a float32 array of shape (n, k, nr, nc)."""
        self.expect_int(2)
        shape = tuple(self.read_int() for _ in range(4))
        if min(shape) < 0:
            raise self.error(f"negative tensor shape {shape}")
        size = math.prod(shape)
        if size > _MAX_ELEMENTS or 4 * size > self.remaining():
            raise self.error(f"tensor of shape {shape} does not fit in the file")
        raw = self._take(4 * size)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)

    def read_alias_tensor(self):
        """An ``alias_tensor``: its shape ``(n, k, nr, nc)`` (it holds no values)."""
        self.expect_int(1)
        shape = tuple(self.read_int() for _ in range(4))
        if min(shape) < 0 or math.prod(shape) > _MAX_ELEMENTS:
            raise self.error(f"bad alias tensor shape {shape}")
        return shape


def read_int_stream(reader):
    """Decode every byte left in ``reader`` as a sequence of dlib integers.

    Models made only of integers, floats (two integers each), vectors and
    matrices (lengths and dimensions are integers) -- dlib's shape predictor
    -- are one flat stream of integer encodings; decoding it in one pass is
    much faster than one :meth:`DlibReader.read_int` call per value.

    Parameters
    ----------
    reader : DlibReader
        Read from its current position to its end (``reader.pos`` ends at
        the end).

    Returns
    -------
    values : ndarray of int64
        The integers, in order.

    Raises
    ------
    DlibFormatError
        On a byte that is not an integer's control byte, a payload running
        past the end, or a value that does not fit in an int64.

    Examples
    --------
    >>> read_int_stream(DlibReader(bytes([0x01, 0x05, 0x81, 0x05, 0x02, 0x00, 0x01])))
    array([  5,  -5, 256])
    """
    raw = np.frombuffer(reader._data, dtype=np.uint8, offset=reader.pos)
    n = raw.size
    sizes = (raw & 0x0F).astype(np.int64)
    steps = (sizes + 1).tolist()
    starts = []
    append = starts.append
    i = 0
    try:
        while i < n:
            append(i)
            i += steps[i]
    except IndexError:  # pragma: no cover - i < n is checked first
        pass
    starts = np.asarray(starts, dtype=np.int64)
    if i != n:
        reader.pos += int(starts[-1])
        raise reader.error("integer payload runs past the end (truncated file)")
    control = raw[starts]
    size = sizes[starts]
    bad = (size == 0) | (size > 8) | ((control & 0x70) != 0)
    if bad.any():
        first = int(starts[np.argmax(bad)])
        reader.pos += first
        raise reader.error(f"bad integer control byte 0x{int(raw[first]):02x}")
    values = np.zeros(starts.size, dtype=np.uint64)
    for k in range(8):
        has = size > k
        if not has.any():
            break
        byte = raw[np.minimum(starts + 1 + k, n - 1)].astype(np.uint64)
        values |= np.where(has, byte << np.uint64(8 * k), np.uint64(0))
    if (values > np.uint64(np.iinfo(np.int64).max)).any():
        raise reader.error("integer out of the int64 range")
    values = values.astype(np.int64)
    values[(control & 0x80) != 0] *= -1
    reader.pos += n
    return values
