/*
 * ctprof._procread: the process level's full read of one process in C.
 *
 * Reader.read() does what ProcessCollector._read_python does for one process:
 * pread of schedstat and stat, the row-reuse comparison, pread of status and
 * io, parsing and the row in catalog.PROCESS_COLUMNS order. Every result and
 * every ParseError matches the pure-Python path (process_collector.py and
 * collect/procfs.py): tests/test_procread.py compares both on real processes,
 * fixture files and random bytes. Python stays in charge of opening,
 * reopening and closing descriptors and of the io permission policy.
 *
 * Integers are parsed with PyLong_FromString, as int(bytes) does, unless the
 * token is 1 to 18 ASCII digits. Fractional scales are rounded to 9 decimals
 * as round() does, see round_fast().
 *
 * The GIL stays held during a call, which takes about 15 microseconds, and
 * the interpreter can switch threads between calls.
 * NOTE: unlike os.pread, a /proc read that blocks in the kernel (on a lock
 * of the process read) here blocks the other Python threads as well.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

/* Bytes read from each file with one pread, as _READ_SIZE in Python. */
#define READ_SIZE 65536
/* Stat tokens after the command name whose offsets are kept (fields 3..66). */
#define MAX_TAIL 64
/* Index of proc(5) fields 22 (starttime) and 20 (num_threads) in the tail,
 * which starts at field 3. */
#define START_TIME (22 - 3)
#define NUM_THREADS (20 - 3)
/* Tokens of up to this many digits fit a long long (10^18 < 2^63). */
#define FAST_DIGITS 18
/* Magnitude up to which every long long converts to a double exactly. */
#define EXACT_DOUBLE (1LL << 53)

enum source { SOURCE_STAT, SOURCE_STATUS, SOURCE_IO };

/* Conversion of a parsed value into a row value, as scaled() does it. */
enum scale_kind {
    SCALE_TEXT,     /* stat text field: bytes.decode(errors="replace") */
    SCALE_IDENTITY, /* scale == 1: the integer itself */
    SCALE_INT,      /* int scale: value * scale */
    SCALE_FLOAT,    /* float scale: round(value * scale, 9) */
    SCALE_PYTHON,   /* anything else: call collectors.scaled */
};

typedef struct {
    enum source source;
    /* Tail index for stat, else index into status_keys or io_keys. */
    Py_ssize_t index;
    enum scale_kind kind;
    long long int_scale;
    double float_scale;
    PyObject *scale; /* the plan's scale object (None for text) */
} plan_item;

/* A field name of /proc/PID/status or io. */
typedef struct {
    PyObject *name;   /* str, for error messages */
    const char *text; /* UTF-8 bytes of name, owned by name */
    Py_ssize_t size;
} field_key;

/* An integer parsed from a token, in small unless big is set. */
typedef struct {
    int present;
    long long small;
    PyObject *big; /* owned reference, or NULL */
} number;

typedef struct {
    PyObject_HEAD
    plan_item *plan;
    Py_ssize_t plan_size;
    field_key *status_keys;
    Py_ssize_t status_count;
    field_key *io_keys;
    Py_ssize_t io_count;
    PyObject *boot_time;
    int boot_exact; /* boot_time is a float, or an int a double represents */
    double boot_double;
    PyObject *clock_ticks;
    long long clock_small; /* 0 unless clock_ticks is an int in 1..2^53 */
    PyObject *parse_error;
    PyObject *scaled;
    PyObject *round;
    char *buffer; /* 4 x READ_SIZE: schedstat, stat, status, io */
    int busy;
} Reader;

static int
is_space(char c)
{
    /* Whether bytes.split() splits at c (Py_ISSPACE). */
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/* Move *at past blanks and return the length of the token there, 0 at end. */
static Py_ssize_t
next_token(const char *data, Py_ssize_t size, Py_ssize_t *at)
{
    Py_ssize_t i = *at;
    while (i < size && is_space(data[i])) {
        i++;
    }
    *at = i;
    while (i < size && !is_space(data[i])) {
        i++;
    }
    return i - *at;
}

/* ---------------------------------------------------------------- errors */

/* Raise ParseError(base + suffix, detail) and return NULL. */
static PyObject *
raise_parse_error(Reader *self, PyObject *base, const char *suffix,
                  PyObject *detail)
{
    PyObject *path, *error;

    if (detail == NULL) {
        return NULL;
    }
    path = PyUnicode_FromFormat("%U%s", base, suffix);
    if (path == NULL) {
        Py_DECREF(detail);
        return NULL;
    }
    error = PyObject_CallFunctionObjArgs(self->parse_error, path, detail, NULL);
    Py_DECREF(path);
    Py_DECREF(detail);
    if (error != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(error), error);
        Py_DECREF(error);
    }
    return NULL;
}

/* Return PyUnicode_FromFormat(format, repr(data[:limit])). */
static PyObject *
format_bytes(const char *format, const char *data, Py_ssize_t size,
             Py_ssize_t limit)
{
    PyObject *bytes, *text;

    bytes = PyBytes_FromStringAndSize(data, size < limit ? size : limit);
    if (bytes == NULL) {
        return NULL;
    }
    text = PyUnicode_FromFormat(format, bytes);
    Py_DECREF(bytes);
    return text;
}

/* ------------------------------------------------------------- integers */

static void
number_clear(number *n)
{
    Py_CLEAR(n->big);
    n->present = 0;
}

/*
 * Parse a token as int(bytes) does. Return 0 on success, 1 when int() would
 * raise ValueError (no exception set), -1 with an exception set otherwise.
 */
static int
parse_int(const char *token, Py_ssize_t size, number *out)
{
    char small[64];
    char *copy;
    char *end = NULL;
    PyObject *value;
    Py_ssize_t i;
    long long v = 0;
    int invalid = 0;

    if (size > 0 && size <= FAST_DIGITS) {
        for (i = 0; i < size; i++) {
            if (token[i] < '0' || token[i] > '9') {
                break;
            }
            v = v * 10 + (token[i] - '0');
        }
        if (i == size) {
            out->small = v;
            out->big = NULL;
            out->present = 1;
            return 0;
        }
    }
    /* CPython parses signs, underscores, other bytes and long tokens, on a
     * NUL-terminated copy as _PyLong_FromBytes does. */
    copy = size < (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc(size + 1);
    if (copy == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(copy, token, size);
    copy[size] = '\0';
    value = PyLong_FromString(copy, &end, 10);
    if (value != NULL && end != copy + size) {
        Py_CLEAR(value); /* int() rejects trailing text, a NUL included */
        invalid = 1;
    }
    if (copy != small) {
        PyMem_Free(copy);
    }
    if (value == NULL && !invalid) {
        if (!PyErr_ExceptionMatches(PyExc_ValueError)) {
            return -1;
        }
        PyErr_Clear();
        invalid = 1;
    }
    if (invalid) {
        return 1;
    }
    out->big = value;
    out->small = 0;
    out->present = 1;
    return 0;
}

/* Parse a number of status or io. An invalid token raises ParseError with
 * _num's message. */
static int
parse_field_int(Reader *self, PyObject *base, const char *suffix,
                const char *token, Py_ssize_t size, number *out)
{
    int rc = parse_int(token, size, out);

    if (rc == 1) {
        raise_parse_error(
            self, base, suffix,
            format_bytes("expected an integer, got %R", token, size, 40));
        return -1;
    }
    return rc;
}

/* Return a new int for a parsed number. */
static PyObject *
number_object(const number *n)
{
    if (n->big != NULL) {
        Py_INCREF(n->big);
        return n->big;
    }
    return PyLong_FromLongLong(n->small);
}

/* ------------------------------------------------------------- rounding */

/*
 * Store round(x, digits) in *out, for the power of ten p = 10**digits, and
 * return 1, or return 0 when the caller must call round() instead.
 *
 * round() converts x to the nearest decimal with that many digits and back
 * to the nearest double (CPython's floatobject.c, double_round, unless
 * PY_NO_SHORT_FLOAT_REPR is defined). That decimal is K * 10**-digits, with
 * K the integer nearest to the exact product x * p. The product is y + err:
 * y = x * p rounded, and err its rounding error, which fma() gives exactly.
 * When y + err is within 0.49 of k = nearbyint(y), K is k, and k / p is the
 * double nearest to K * 10**-digits because both operands are exact. Other
 * products (near a half-integer, where ties matter) and |y| >= 2**50, where
 * y and k stop being exact, go to round().
 */
static int
round_fast(double x, double p, double *out)
{
#ifdef PY_NO_SHORT_FLOAT_REPR
    /* This CPython rounds with another algorithm: always call round(). */
    (void)x;
    (void)p;
    (void)out;
    return 0;
#else
    double y = x * p;
    double err, k, distance;

    if (!(fabs(y) < 0x1p50)) {
        return 0; /* also NaN and infinities */
    }
    err = fma(x, p, -y);
    k = nearbyint(y);
    distance = (y - k) + err;
    if (!(fabs(distance) < 0.49)) {
        return 0;
    }
    *out = k / p;
    return 1;
#endif
}

/* Return round(x, digits) as a float, for p = 10**digits. */
static PyObject *
round_float(Reader *self, double x, double p, int digits)
{
    double r;
    PyObject *value, *result;

    if (round_fast(x, p, &r)) {
        return PyFloat_FromDouble(r);
    }
    value = PyFloat_FromDouble(x);
    if (value == NULL) {
        return NULL;
    }
    result = PyObject_CallFunction(self->round, "Oi", value, digits);
    Py_DECREF(value);
    return result;
}

/* Return collectors.scaled(value, scale) for a parsed number. */
static PyObject *
scale_number(Reader *self, const plan_item *item, const number *n)
{
    PyObject *value, *result;
    long long product;

    switch (item->kind) {
    case SCALE_IDENTITY:
        return number_object(n);
    case SCALE_INT:
        if (n->big == NULL &&
            !__builtin_mul_overflow(n->small, item->int_scale, &product)) {
            return PyLong_FromLongLong(product);
        }
        value = number_object(n);
        if (value == NULL) {
            return NULL;
        }
        result = PyNumber_Multiply(value, item->scale);
        Py_DECREF(value);
        return result;
    case SCALE_FLOAT:
        if (n->big == NULL && n->small <= EXACT_DOUBLE &&
            n->small >= -EXACT_DOUBLE) {
            return round_float(self, (double)n->small * item->float_scale,
                               1e9, 9);
        }
        break;
    default:
        break;
    }
    value = number_object(n);
    if (value == NULL) {
        return NULL;
    }
    result = PyObject_CallFunctionObjArgs(self->scaled, value, item->scale,
                                          NULL);
    Py_DECREF(value);
    return result;
}

/* ------------------------------------------------------------- parsing */

/* Parse /proc/PID/io into values[] as parse_pid_io does. Return -1 with an
 * exception set on error. */
static int
parse_io(Reader *self, PyObject *base, const char *data, Py_ssize_t size,
         number *values)
{
    Py_ssize_t at = 0, count = 0, key_at, key_size, value_size, j;
    number scratch;

    while ((key_size = next_token(data, size, &at)) > 0) {
        at += key_size;
        count++;
    }
    if (count % 2) {
        raise_parse_error(self, base, "io",
                          format_bytes("expected 'key: value' pairs, got %R",
                                       data, size, 60));
        return -1;
    }
    at = 0;
    for (; count > 0; count -= 2) {
        key_size = next_token(data, size, &at);
        key_at = at;
        at += key_size;
        if (data[key_at + key_size - 1] != ':') {
            raise_parse_error(
                self, base, "io",
                format_bytes("expected 'key:', got %R", data + key_at,
                             key_size, 40));
            return -1;
        }
        value_size = next_token(data, size, &at);
        for (j = 0; j < self->io_count; j++) {
            if (self->io_keys[j].size == key_size - 1 &&
                memcmp(self->io_keys[j].text, data + key_at, key_size - 1) ==
                    0) {
                break;
            }
        }
        scratch.big = NULL;
        if (parse_field_int(self, base, "io", data + at, value_size,
                            &scratch) < 0) {
            return -1;
        }
        at += value_size;
        if (j < self->io_count) {
            /* A repeated key keeps its last value, as a dict would. */
            number_clear(&values[j]);
            values[j] = scratch;
        }
        else {
            number_clear(&scratch);
        }
    }
    return 0;
}

/* Return the offset of needle in data, or -1. */
static Py_ssize_t
find(const char *data, Py_ssize_t size, const char *needle, Py_ssize_t length)
{
    const char *at = memmem(data, size, needle, length);
    return at == NULL ? -1 : at - data;
}

/* Pick the status fields as parse_pid_status (pick_values) does. */
static int
parse_status(Reader *self, PyObject *base, const char *data, Py_ssize_t size,
             number *values)
{
    char needle[128];
    Py_ssize_t i, at, start, end, length, token_size;
    const field_key *key;
    const char *newline;

    for (i = 0; i < self->status_count; i++) {
        key = &self->status_keys[i];
        /* The constructor keeps names below sizeof(needle) - 2 bytes. */
        needle[0] = '\n';
        memcpy(needle + 1, key->text, key->size);
        needle[key->size + 1] = ':';
        length = key->size + 2;
        at = find(data, size, needle, length);
        if (at < 0) {
            if (size < length - 1 ||
                memcmp(data, needle + 1, length - 1) != 0) {
                continue;
            }
        }
        start = at + length;
        newline = memchr(data + start, '\n', size - start);
        end = newline == NULL ? size : newline - data;
        token_size = next_token(data, end, &start);
        if (token_size == 0) {
            raise_parse_error(self, base, "status",
                              PyUnicode_FromFormat("%U has no value",
                                                   key->name));
            return -1;
        }
        if (parse_field_int(self, base, "status", data + start, token_size,
                            &values[i]) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Raise ParseError for stat with format applied to repr(stat[:80]). */
static PyObject *
stat_error(Reader *self, PyObject *base, const char *format, const char *stat,
           Py_ssize_t stat_size)
{
    return raise_parse_error(self, base, "stat",
                             format_bytes(format, stat, stat_size, 80));
}

/* Return round(boot_time + ticks / CLOCK_TICKS, 2), the start time. */
static PyObject *
start_time(Reader *self, const number *ticks)
{
    PyObject *value, *quotient, *sum, *result;

    if (ticks->big == NULL && self->boot_exact && self->clock_small > 0 &&
        ticks->small <= EXACT_DOUBLE && ticks->small >= -EXACT_DOUBLE) {
        /* int / int is correctly rounded, so for operands that a double
         * represents exactly it equals the division of the doubles. */
        return round_float(self,
                           self->boot_double +
                               (double)ticks->small / (double)self->clock_small,
                           100.0, 2);
    }
    value = number_object(ticks);
    if (value == NULL) {
        return NULL;
    }
    quotient = PyNumber_TrueDivide(value, self->clock_ticks);
    Py_DECREF(value);
    if (quotient == NULL) {
        return NULL;
    }
    sum = PyNumber_Add(self->boot_time, quotient);
    Py_DECREF(quotient);
    if (sum == NULL) {
        return NULL;
    }
    result = PyObject_CallFunction(self->round, "Oi", sum, 2);
    Py_DECREF(sum);
    return result;
}

/* Return the row value of a stat plan entry, or NULL with an error set. */
static PyObject *
stat_value(Reader *self, const plan_item *item, const char *stat,
           const Py_ssize_t *tail_at, const Py_ssize_t *tail_size,
           Py_ssize_t tail_count)
{
    number n = {0, 0, NULL};
    PyObject *value;
    int rc;

    if (item->index >= tail_count) {
        Py_RETURN_NONE; /* field 42 (blkio delay) is from Linux 2.6.18 */
    }
    if (item->kind == SCALE_TEXT) {
        return PyUnicode_DecodeUTF8(stat + tail_at[item->index],
                                    tail_size[item->index], "replace");
    }
    rc = parse_int(stat + tail_at[item->index], tail_size[item->index], &n);
    if (rc == 1) {
        PyErr_SetString(PyExc_ValueError, "not an integer");
    }
    if (rc != 0) {
        return NULL;
    }
    value = scale_number(self, item, &n);
    number_clear(&n);
    return value;
}

/*
 * Build one row from the bytes of stat, status and io (io == NULL when the
 * process has no io descriptor), with the steps and the order of errors of
 * _read_python: io is parsed first, then stat is split, then status is
 * parsed, then the row is built. Set *single_thread when field 20 is "1".
 */
static PyObject *
build_row(Reader *self, PyObject *pid, PyObject *base, const char *stat,
          Py_ssize_t stat_size, const char *status, Py_ssize_t status_size,
          const char *io, Py_ssize_t io_size, int *single_thread)
{
    number *values, start_ticks = {0, 0, NULL};
    number *status_values, *io_values;
    Py_ssize_t tail_at[MAX_TAIL], tail_size[MAX_TAIL];
    Py_ssize_t open_at, close_at, at, size, tail_count = 0, i;
    const char *open_paren;
    PyObject *row = NULL, *value;
    const plan_item *item;
    int rc;

    values = PyMem_Calloc(self->status_count + self->io_count + 1,
                          sizeof(number));
    if (values == NULL) {
        return PyErr_NoMemory();
    }
    status_values = values;
    io_values = values + self->status_count;

    if (io != NULL && parse_io(self, base, io, io_size, io_values) < 0) {
        goto done;
    }

    open_paren = memchr(stat, '(', stat_size);
    open_at = open_paren == NULL ? -1 : open_paren - stat;
    for (close_at = stat_size - 1; close_at >= 0; close_at--) {
        if (stat[close_at] == ')') {
            break;
        }
    }
    if (open_at < 0 || close_at < open_at) {
        raise_parse_error(self, base, "stat",
                          PyUnicode_FromString("no '(comm)' field"));
        goto done;
    }
    at = close_at + 1;
    while ((size = next_token(stat, stat_size, &at)) > 0) {
        if (tail_count < MAX_TAIL) {
            tail_at[tail_count] = at;
            tail_size[tail_count] = size;
        }
        tail_count++;
        at += size;
    }
    if (tail_count < 20) {
        raise_parse_error(
            self, base, "stat",
            PyUnicode_FromFormat("expected at least 22 fields, got %zd",
                                 tail_count + 2));
        goto done;
    }

    if (parse_status(self, base, status, status_size, status_values) < 0) {
        goto done;
    }

    row = PyList_New(3 + self->plan_size);
    if (row == NULL) {
        goto done;
    }
    Py_INCREF(pid);
    PyList_SET_ITEM(row, 0, pid);
    value = PyUnicode_DecodeUTF8(stat + open_at + 1, close_at - open_at - 1,
                                 "replace");
    if (value == NULL) {
        goto fail;
    }
    PyList_SET_ITEM(row, 2, value);

    rc = parse_int(stat + tail_at[START_TIME], tail_size[START_TIME],
                   &start_ticks);
    if (rc == 1) {
        PyErr_SetString(PyExc_ValueError, "not an integer");
    }
    if (rc != 0) {
        goto row_error;
    }
    value = start_time(self, &start_ticks);
    if (value == NULL) {
        goto row_error;
    }
    PyList_SET_ITEM(row, 1, value);

    for (i = 0; i < self->plan_size; i++) {
        item = &self->plan[i];
        if (item->source == SOURCE_STAT) {
            value = stat_value(self, item, stat, tail_at, tail_size,
                               tail_count);
        }
        else {
            const number *n = item->source == SOURCE_STATUS
                                  ? &status_values[item->index]
                                  : &io_values[item->index];
            if (n->present) {
                value = scale_number(self, item, n);
            }
            else {
                Py_INCREF(Py_None);
                value = Py_None;
            }
        }
        if (value == NULL) {
            goto row_error;
        }
        PyList_SET_ITEM(row, 3 + i, value);
    }
    *single_thread = tail_size[NUM_THREADS] == 1 &&
                     stat[tail_at[NUM_THREADS]] == '1';
    goto done;

row_error:
    /* The errors _parse turns into ParseError while it builds the row. */
    if (PyErr_ExceptionMatches(PyExc_ValueError)) {
        PyErr_Clear();
        stat_error(self, base, "expected integer fields, got %R", stat,
                   stat_size);
    }
    else if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
        PyErr_Clear();
        stat_error(self, base, "a field is too large for a float, got %R",
                   stat, stat_size);
    }
fail:
    Py_CLEAR(row);
done:
    number_clear(&start_ticks);
    for (i = 0; i < self->status_count + self->io_count; i++) {
        number_clear(&values[i]);
    }
    PyMem_Free(values);
    return row;
}

/* ------------------------------------------------------------- reading */

/* pread the whole file (up to READ_SIZE bytes) from offset 0, as os.pread
 * does, retrying on EINTR. */
static int
read_file(int fd, char *buffer, Py_ssize_t *size, PyObject *base,
          const char *suffix)
{
    ssize_t n;
    PyObject *path;

    for (;;) {
        n = pread(fd, buffer, READ_SIZE, 0);
        if (n >= 0) {
            *size = n;
            return 0;
        }
        if (errno != EINTR) {
            break;
        }
        if (PyErr_CheckSignals() < 0) {
            return -1;
        }
    }
    {
        int saved = errno;
        path = PyUnicode_FromFormat("%U%s", base, suffix);
        if (path == NULL) {
            return -1;
        }
        errno = saved;
    }
    PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
    Py_DECREF(path);
    return -1;
}

/* Return 1 when last is a tuple (schedstat, stat) equal to the bytes read. */
static int
same_as_last(PyObject *last, const char *schedstat, Py_ssize_t schedstat_size,
             const char *stat, Py_ssize_t stat_size)
{
    PyObject *a, *b;

    if (!PyTuple_Check(last) || PyTuple_GET_SIZE(last) != 2) {
        return 0;
    }
    a = PyTuple_GET_ITEM(last, 0);
    b = PyTuple_GET_ITEM(last, 1);
    if (!PyBytes_Check(a) || !PyBytes_Check(b)) {
        return 0;
    }
    return PyBytes_GET_SIZE(a) == schedstat_size &&
           PyBytes_GET_SIZE(b) == stat_size &&
           memcmp(PyBytes_AS_STRING(a), schedstat, schedstat_size) == 0 &&
           memcmp(PyBytes_AS_STRING(b), stat, stat_size) == 0;
}

PyDoc_STRVAR(
    reader_read_doc,
    "read(pid, base, stat_fd, status_fd, io_fd, schedstat_fd, last)\n--\n\n"
    "Read one process from its open /proc/PID descriptors.\n\n"
    "io_fd and schedstat_fd are -1 when not open. Return None when last,\n"
    "a (schedstat, stat) bytes pair or None, equals the new schedstat and\n"
    "stat, so the caller reuses its previous row. Else return (row, key):\n"
    "key is the (schedstat, stat) pair to pass as last next time, or None\n"
    "when the row may not be reused (no schedstat, or several threads).\n"
    "A failed pread raises OSError with base + the file name as filename.");

static PyObject *
reader_read(Reader *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *pid, *base, *last, *row = NULL, *key = NULL, *result = NULL;
    int fds[4], single_thread = 0, i;
    char *buffer, *schedstat, *stat, *status, *io;
    Py_ssize_t schedstat_size = 0, stat_size, status_size, io_size = 0;

    if (nargs != 7) {
        PyErr_Format(PyExc_TypeError, "read() takes 7 arguments (%zd given)",
                     nargs);
        return NULL;
    }
    if (self->buffer == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Reader is not initialized");
        return NULL;
    }
    pid = args[0];
    base = args[1];
    last = args[6];
    if (!PyUnicode_Check(base)) {
        PyErr_SetString(PyExc_TypeError, "base must be a str");
        return NULL;
    }
    for (i = 0; i < 4; i++) {
        long fd = PyLong_AsLong(args[2 + i]);
        if (fd == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (fd < -1 || fd > INT_MAX) {
            PyErr_Format(PyExc_ValueError, "invalid file descriptor %ld", fd);
            return NULL;
        }
        fds[i] = (int)fd;
    }
    /* Another thread can enter while this call runs Python code (a garbage
     * collection running a finalizer): it gets a buffer of its own. */
    buffer = self->busy ? PyMem_Malloc(4 * READ_SIZE) : self->buffer;
    if (buffer == NULL) {
        return PyErr_NoMemory();
    }
    self->busy++;
    schedstat = buffer;
    stat = buffer + READ_SIZE;
    status = buffer + 2 * READ_SIZE;
    io = buffer + 3 * READ_SIZE;

    if (fds[3] >= 0 &&
        read_file(fds[3], schedstat, &schedstat_size, base, "schedstat") < 0) {
        goto done;
    }
    if (read_file(fds[0], stat, &stat_size, base, "stat") < 0) {
        goto done;
    }
    if (last != Py_None &&
        same_as_last(last, schedstat, schedstat_size, stat, stat_size)) {
        Py_INCREF(Py_None);
        result = Py_None;
        goto done;
    }
    if (read_file(fds[1], status, &status_size, base, "status") < 0) {
        goto done;
    }
    if (fds[2] >= 0 && read_file(fds[2], io, &io_size, base, "io") < 0) {
        goto done;
    }
    row = build_row(self, pid, base, stat, stat_size, status, status_size,
                    fds[2] >= 0 ? io : NULL, io_size, &single_thread);
    if (row == NULL) {
        goto done;
    }
    if (schedstat_size > 0 && single_thread) {
        key = Py_BuildValue("(y#y#)", schedstat, schedstat_size, stat,
                            stat_size);
        if (key == NULL) {
            goto done;
        }
    }
    else {
        Py_INCREF(Py_None);
        key = Py_None;
    }
    result = PyTuple_Pack(2, row, key);

done:
    self->busy--;
    if (buffer != self->buffer) {
        PyMem_Free(buffer);
    }
    Py_XDECREF(row);
    Py_XDECREF(key);
    return result;
}

PyDoc_STRVAR(reader_parse_doc,
             "parse(pid, base, stat, status, io)\n--\n\n"
             "Build a row from the bytes of stat, status and io (None when\n"
             "the process has no io descriptor), as read() does after its\n"
             "reads.");

static PyObject *
reader_parse(Reader *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer stat, status, io = {0};
    PyObject *row = NULL;
    int single_thread = 0;

    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError, "parse() takes 5 arguments (%zd given)",
                     nargs);
        return NULL;
    }
    if (self->buffer == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Reader is not initialized");
        return NULL;
    }
    if (!PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "base must be a str");
        return NULL;
    }
    if (PyObject_GetBuffer(args[2], &stat, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(args[3], &status, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&stat);
        return NULL;
    }
    if (args[4] != Py_None &&
        PyObject_GetBuffer(args[4], &io, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&status);
        PyBuffer_Release(&stat);
        return NULL;
    }
    row = build_row(self, args[0], args[1], stat.buf, stat.len, status.buf,
                    status.len, args[4] != Py_None ? io.buf : NULL, io.len,
                    &single_thread);
    if (args[4] != Py_None) {
        PyBuffer_Release(&io);
    }
    PyBuffer_Release(&status);
    PyBuffer_Release(&stat);
    return row;
}

/* -------------------------------------------------------- construction */

/* Find name in keys[0..count); append it when absent. Return its index. */
static Py_ssize_t
key_index(field_key *keys, Py_ssize_t *count, PyObject *name)
{
    Py_ssize_t i, size;
    const char *text;

    if (!PyUnicode_Check(name)) {
        PyErr_SetString(PyExc_TypeError, "status and io keys must be str");
        return -1;
    }
    text = PyUnicode_AsUTF8AndSize(name, &size);
    if (text == NULL) {
        return -1;
    }
    if (size == 0 || size > 100) {
        PyErr_Format(PyExc_ValueError, "invalid field name %R", name);
        return -1;
    }
    for (i = 0; i < *count; i++) {
        if (keys[i].size == size && memcmp(keys[i].text, text, size) == 0) {
            return i;
        }
    }
    Py_INCREF(name);
    keys[i].name = name;
    keys[i].text = text;
    keys[i].size = size;
    (*count)++;
    return i;
}

/* Classify a plan scale as scaled() treats it. */
static int
classify_scale(plan_item *item, PyObject *scale)
{
    int overflow = 0, is_unit;
    PyObject *unit = PyLong_FromLong(1);

    if (unit == NULL) {
        return -1;
    }
    is_unit = PyObject_RichCompareBool(scale, unit, Py_EQ);
    Py_DECREF(unit);
    if (is_unit < 0) {
        return -1;
    }
    if (is_unit) {
        item->kind = SCALE_IDENTITY;
    }
    else if (PyLong_Check(scale)) {
        item->int_scale = PyLong_AsLongLongAndOverflow(scale, &overflow);
        if (item->int_scale == -1 && PyErr_Occurred()) {
            return -1;
        }
        item->kind = overflow ? SCALE_PYTHON : SCALE_INT;
    }
    else if (PyFloat_CheckExact(scale)) {
        item->float_scale = PyFloat_AS_DOUBLE(scale);
        item->kind = SCALE_FLOAT;
    }
    else {
        item->kind = SCALE_PYTHON;
    }
    return 0;
}

static int
parse_plan_item(Reader *self, PyObject *entry, plan_item *item)
{
    PyObject *key, *scale;
    long source;

    if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "plan entries must be (source, key, scale) tuples");
        return -1;
    }
    source = PyLong_AsLong(PyTuple_GET_ITEM(entry, 0));
    if (source == -1 && PyErr_Occurred()) {
        return -1;
    }
    key = PyTuple_GET_ITEM(entry, 1);
    scale = PyTuple_GET_ITEM(entry, 2);
    Py_INCREF(scale);
    item->scale = scale;
    if (source == SOURCE_STAT) {
        item->source = SOURCE_STAT;
        item->index = PyLong_AsSsize_t(key);
        if (item->index == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (item->index < 0 || item->index >= MAX_TAIL) {
            PyErr_Format(PyExc_ValueError,
                         "stat index %zd is outside 0..%d", item->index,
                         MAX_TAIL - 1);
            return -1;
        }
        if (scale == Py_None) {
            item->kind = SCALE_TEXT;
            return 0;
        }
        return classify_scale(item, scale);
    }
    if (source == SOURCE_STATUS) {
        item->source = SOURCE_STATUS;
        item->index = key_index(self->status_keys, &self->status_count, key);
    }
    else if (source == SOURCE_IO) {
        item->source = SOURCE_IO;
        item->index = key_index(self->io_keys, &self->io_count, key);
    }
    else {
        PyErr_Format(PyExc_ValueError, "unknown source %ld", source);
        return -1;
    }
    if (item->index < 0) {
        return -1;
    }
    if (scale == Py_None) {
        PyErr_SetString(PyExc_TypeError, "status and io scales must be numbers");
        return -1;
    }
    return classify_scale(item, scale);
}

static int
reader_init(Reader *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"plan",        "status_keys", "boot_time",
                            "clock_ticks", "parse_error", "scaled",
                            NULL};
    PyObject *plan, *status_keys, *boot_time, *clock_ticks, *parse_error,
        *scaled, *builtins, *plan_seq = NULL, *keys_seq = NULL;
    Py_ssize_t i, entries, count;
    int overflow = 0, rc = -1;

    if (self->plan != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Reader is already initialized");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOOO:Reader", names,
                                     &plan, &status_keys, &boot_time,
                                     &clock_ticks, &parse_error, &scaled)) {
        return -1;
    }
    plan_seq = PySequence_Fast(plan, "plan must be a sequence");
    keys_seq = PySequence_Fast(status_keys, "status_keys must be a sequence");
    if (plan_seq == NULL || keys_seq == NULL) {
        goto done;
    }
    entries = PySequence_Fast_GET_SIZE(plan_seq);
    count = PySequence_Fast_GET_SIZE(keys_seq);
    self->plan = PyMem_Calloc(entries + 1, sizeof(plan_item));
    self->status_keys = PyMem_Calloc(entries + count + 1, sizeof(field_key));
    self->io_keys = PyMem_Calloc(entries + 1, sizeof(field_key));
    self->buffer = PyMem_Malloc(4 * READ_SIZE);
    if (self->plan == NULL || self->status_keys == NULL ||
        self->io_keys == NULL || self->buffer == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* Status keys first, so that they are searched in the given order and
     * the first missing value raises as in parse_pid_status. */
    for (i = 0; i < count; i++) {
        if (key_index(self->status_keys, &self->status_count,
                      PySequence_Fast_GET_ITEM(keys_seq, i)) < 0) {
            goto done;
        }
    }
    for (i = 0; i < entries; i++) {
        self->plan_size = i + 1; /* so that dealloc releases item i */
        if (parse_plan_item(self, PySequence_Fast_GET_ITEM(plan_seq, i),
                            &self->plan[i]) < 0) {
            goto done;
        }
    }
    if (self->status_count != count) {
        PyErr_SetString(PyExc_ValueError,
                        "the plan reads a status key missing from status_keys");
        goto done;
    }

    Py_INCREF(boot_time);
    self->boot_time = boot_time;
    if (PyFloat_CheckExact(boot_time)) {
        self->boot_double = PyFloat_AS_DOUBLE(boot_time);
        self->boot_exact = 1;
    }
    else if (PyLong_CheckExact(boot_time)) {
        long long boot = PyLong_AsLongLongAndOverflow(boot_time, &overflow);
        if (boot == -1 && PyErr_Occurred()) {
            goto done;
        }
        self->boot_exact =
            !overflow && boot <= EXACT_DOUBLE && boot >= -EXACT_DOUBLE;
        self->boot_double = (double)boot;
    }
    Py_INCREF(clock_ticks);
    self->clock_ticks = clock_ticks;
    if (PyLong_CheckExact(clock_ticks)) {
        long long ticks = PyLong_AsLongLongAndOverflow(clock_ticks, &overflow);
        if (ticks == -1 && PyErr_Occurred()) {
            goto done;
        }
        if (!overflow && ticks > 0 && ticks <= EXACT_DOUBLE) {
            self->clock_small = ticks;
        }
    }
    Py_INCREF(parse_error);
    self->parse_error = parse_error;
    Py_INCREF(scaled);
    self->scaled = scaled;
    builtins = PyEval_GetBuiltins(); /* borrowed */
    self->round = builtins == NULL ? NULL : PyDict_GetItemString(builtins, "round");
    if (self->round == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "builtins.round is missing");
        goto done;
    }
    Py_INCREF(self->round);
    rc = 0;

done:
    Py_XDECREF(plan_seq);
    Py_XDECREF(keys_seq);
    return rc;
}

static void
reader_dealloc(Reader *self)
{
    Py_ssize_t i;

    if (self->plan != NULL) {
        for (i = 0; i < self->plan_size; i++) {
            Py_XDECREF(self->plan[i].scale);
        }
        PyMem_Free(self->plan);
    }
    if (self->status_keys != NULL) {
        for (i = 0; i < self->status_count; i++) {
            Py_DECREF(self->status_keys[i].name);
        }
        PyMem_Free(self->status_keys);
    }
    if (self->io_keys != NULL) {
        for (i = 0; i < self->io_count; i++) {
            Py_DECREF(self->io_keys[i].name);
        }
        PyMem_Free(self->io_keys);
    }
    PyMem_Free(self->buffer);
    Py_XDECREF(self->boot_time);
    Py_XDECREF(self->clock_ticks);
    Py_XDECREF(self->parse_error);
    Py_XDECREF(self->scaled);
    Py_XDECREF(self->round);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef reader_methods[] = {
    {"read", (PyCFunction)(void (*)(void))reader_read, METH_FASTCALL,
     reader_read_doc},
    {"parse", (PyCFunction)(void (*)(void))reader_parse, METH_FASTCALL,
     reader_parse_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(
    reader_doc,
    "Reader(plan, status_keys, boot_time, clock_ticks, parse_error, scaled)\n"
    "--\n\n"
    "Reader of process rows for one ProcessCollector.\n\n"
    "plan is ProcessCollector's _row_plan(): (source, key, scale) per\n"
    "process metric, source 0 (stat, key = index in the tail after the\n"
    "command name, scale None for text), 1 (status) or 2 (io, key = the\n"
    "field name). status_keys is the order parse_pid_status searches in.\n"
    "parse_error is the exception class raised for malformed files, called\n"
    "as parse_error(path, detail); scaled is collectors.scaled.");

static PyTypeObject ReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ctprof._procread.Reader",
    .tp_basicsize = sizeof(Reader),
    .tp_dealloc = (destructor)reader_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = reader_doc,
    .tp_methods = reader_methods,
    .tp_init = (initproc)reader_init,
    .tp_new = PyType_GenericNew,
};

PyDoc_STRVAR(round_doc, "_round(x, digits)\n--\n\n"
                        "Return round(x, digits) computed as Reader does, for "
                        "tests.");

static PyObject *
module_round(PyObject *Py_UNUSED(module), PyObject *args)
{
    double x, r;
    int digits;
    PyObject *builtins, *round;

    if (!PyArg_ParseTuple(args, "di:_round", &x, &digits)) {
        return NULL;
    }
    if (digits < 0 || digits > 15) {
        PyErr_SetString(PyExc_ValueError, "digits must be in 0..15");
        return NULL;
    }
    if (round_fast(x, pow(10.0, digits), &r)) {
        return PyFloat_FromDouble(r);
    }
    builtins = PyEval_GetBuiltins();
    round = builtins == NULL ? NULL : PyDict_GetItemString(builtins, "round");
    if (round == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "builtins.round is missing");
        return NULL;
    }
    return PyObject_CallFunction(round, "di", x, digits);
}

static PyMethodDef module_methods[] = {
    {"_round", module_round, METH_VARARGS, round_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ctprof._procread",
    .m_doc = "The process level's full read of a process, in C.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__procread(void)
{
    PyObject *m;

    if (PyType_Ready(&ReaderType) < 0) {
        return NULL;
    }
    m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&ReaderType);
    if (PyModule_AddObject(m, "Reader", (PyObject *)&ReaderType) < 0) {
        Py_DECREF(&ReaderType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
