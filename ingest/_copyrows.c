/*
 * ingest._copyrows — the CP body of a real-time or minute upload straight to
 * PostgreSQL binary COPY rows, without a Python object per value (issue 23).
 *
 * encode(cp, value_field, zs_field, period, station_id, ts_us, epoch, factor_ids, known)
 *     -> (copy, feed, flags, rows, bad) | None
 *
 * It computes exactly what ingest.copyrows.encode_python computes (ingest.rows.
 * measurement_rows over protocol's parse_cp, then the binary COPY layout), for the
 * bodies it accepts: ASCII, no byte below '!' (no whitespace to strip), no "//" text,
 * no '_' in a value that is read as a number, at most MAX_PAIRS items, every factor
 * code a 2017 code (``known``: nothing to map from 2005) that has an id in
 * ``factor_ids``, ids within smallint.  Anything else returns None and the caller
 * takes the Python path, which handles every body.  The equivalence is tested item
 * by item against the Python path (tests/ingest/test_copyrows.py).
 *
 * copy:    the binary COPY tuples (no file header or trailer), in
 *          ingest.rows.MEASUREMENT_COLUMNS order;
 * feed:    the rows for the readings feed (store.feed), 22 bytes each, little-endian:
 *          station id i4, factor id i2, data time f8 (``epoch``, POSIX s), value f8;
 * flags:   a tuple of the rows' Flag texts (None when absent);
 * rows, bad: rows written and values that were not numbers (left out).
 *
 * latest(cp, known) -> [(code, value, flag), ...] | None
 *     ingest.rows.latest_values of a real-time body the same way (for the station's
 *     latest values; tested against it in the same file).
 *
 * Numbers are read by PyOS_string_to_double, the function float() itself uses, so a
 * value reads the same here as in Python ("8.0", "1e3", "inf", "nan" ...).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_PAIRS 256
#define MAX_NUMBER 64
#define NFIELDS 9
#define FEED_ROW 22 /* i4 station, i2 factor, f8 time, f8 value */

typedef struct {
    const char *code;
    Py_ssize_t code_len;
    const char *field; /* NULL when the key has no '-' */
    Py_ssize_t field_len;
    const char *value;
    Py_ssize_t value_len;
} Pair;

static inline void put_u16(char **p, uint16_t v) {
    (*p)[0] = (char)(v >> 8);
    (*p)[1] = (char)v;
    *p += 2;
}

static inline void put_u32(char **p, uint32_t v) {
    (*p)[0] = (char)(v >> 24);
    (*p)[1] = (char)(v >> 16);
    (*p)[2] = (char)(v >> 8);
    (*p)[3] = (char)v;
    *p += 4;
}

static inline void put_u64(char **p, uint64_t v) {
    put_u32(p, (uint32_t)(v >> 32));
    put_u32(p, (uint32_t)v);
}

static inline void put_f8(char **p, double d) {
    uint64_t bits;
    memcpy(&bits, &d, 8);
    put_u32(p, 8);
    put_u64(p, bits);
}

static inline void put_null(char **p) { put_u32(p, 0xFFFFFFFFu); }

/* The fields a row reads, by slot; a code's slot holds its last pair of that field (what
 * the dict of parse_cp holds: a later item overwrites an earlier one). */
enum { F_VALUE, F_DATA, F_ZS, F_MIN, F_MAX, F_COU, F_FLAG, NSLOTS };

typedef struct {
    PyObject *code; /* the code as a str */
    int first;      /* its first pair: codes are rows in order of first appearance */
    long id;
    int slot[NSLOTS]; /* pair index, or -1 */
} Code;

/* decimal powers exactly representable as doubles */
static const double POW10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/* "[+-]digits[.digits]" with at most 15 digits: m / 10^k with both exact doubles, so the
 * quotient is correctly rounded, as float() is.  0: not of that form. */
static int plain_decimal(const char *s, Py_ssize_t len, double *out) {
    Py_ssize_t i = 0;
    int negative = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        negative = s[i++] == '-';
    int64_t m = 0;
    int digits = 0, frac = -1;
    for (; i < len; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            if (++digits > 15)
                return 0;
            m = m * 10 + (c - '0');
            if (frac >= 0)
                frac++;
        } else if (c == '.' && frac < 0) {
            frac = 0;
        } else {
            return 0;
        }
    }
    if (digits == 0)
        return 0;
    double v = (double)m / POW10[frac > 0 ? frac : 0];
    *out = negative ? -v : v;
    return 1;
}

/* float(text) as Python reads it.  1: a number in *out; 0: not a number (ValueError);
 * -1: outside what this module decides (an '_' or a long text): take the Python path. */
static int read_number(const char *text, Py_ssize_t len, double *out) {
    char buf[MAX_NUMBER + 1];
    char *end = NULL;
    if (len == 0)
        return 0;
    if (plain_decimal(text, len, out))
        return 1;
    if (len > MAX_NUMBER || memchr(text, '_', (size_t)len) != NULL)
        return -1;
    memcpy(buf, text, (size_t)len);
    buf[len] = '\0';
    double v = PyOS_string_to_double(buf, &end, NULL);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (end != buf + len)
        return 0;
    *out = v;
    return 1;
}

/* _number(text) of ingest.rows: None (0) for absent, "", not a number or not finite. */
static int optional_number(const Pair *pairs, int index, double *out) {
    if (index < 0)
        return 0;
    const Pair *p = &pairs[index];
    int r = read_number(p->value, p->value_len, out);
    if (r <= 0)
        return r;
    return (*out - *out == 0.0) ? 1 : 0;
}

static inline int same(const char *a, Py_ssize_t alen, const char *b, Py_ssize_t blen) {
    return alen == blen && memcmp(a, b, (size_t)alen) == 0;
}

/* Factor codes as str objects, made once: a str keeps its hash, so the set and dict
 * lookups of a code cost no allocation and no hashing after its first frame.  Open
 * addressing over the code's bytes; a full table makes new strs (hostile code spam
 * cannot grow it). */
#define CODE_CACHE 1024
static PyObject *code_cache[CODE_CACHE];

static PyObject *code_str(const char *s, Py_ssize_t len) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (Py_ssize_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    for (int probe = 0; probe < 8; probe++) {
        PyObject **entry = &code_cache[(h + (uint32_t)probe) % CODE_CACHE];
        if (*entry == NULL) {
            *entry = PyUnicode_FromStringAndSize(s, len);
            Py_XINCREF(*entry); /* one reference for the table, one for the caller */
            return *entry;
        }
        if (PyUnicode_GET_LENGTH(*entry) == len && memcmp(PyUnicode_DATA(*entry), s, (size_t)len) == 0)
            return Py_NewRef(*entry);
    }
    return PyUnicode_FromStringAndSize(s, len);
}

/* Split a CP body into factor items as parse_cp does (';' and ',' alike, first '=',
 * first '-') and group them by code, in order of first appearance, each code known (a
 * 2017 code) and, when factor_ids is given, with a smallint id.  1: done; 0: a body for
 * the Python path; -1: an exception is set.  Each codes[k].code is a new reference. */
static int parse_body(const char *body, Py_ssize_t n, const char *value_field,
                      Py_ssize_t value_field_len, const char *zs_field, Py_ssize_t zs_field_len,
                      PyObject *known, PyObject *factor_ids, Pair *pairs, Code *codes,
                      int *ncodes_out) {
    int npairs = 0;
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i <= n; i++) {
        char c = i < n ? body[i] : ';';
        if (i < n) {
            if ((unsigned char)c < 0x21 || (unsigned char)c > 0x7E)
                return 0; /* whitespace to strip, control bytes: the Python path */
            if (c == '/' && i + 1 < n && body[i + 1] == '/')
                return 0; /* //text// may hold separators */
        }
        if (c != ';' && c != ',')
            continue;
        const char *item = body + start;
        Py_ssize_t len = i - start;
        start = i + 1;
        const char *eq = memchr(item, '=', (size_t)len);
        Py_ssize_t key_len = eq ? eq - item : len;
        if (key_len == 0)
            continue; /* an empty item, or "=value" */
        const char *dash = memchr(item, '-', (size_t)key_len);
        if (dash == NULL)
            continue; /* DataTime, QnRtn ...: not a factor field */
        if (npairs == MAX_PAIRS)
            return 0;
        Pair *p = &pairs[npairs++];
        p->code = item;
        p->code_len = dash - item;
        p->field = dash + 1;
        p->field_len = key_len - p->code_len - 1;
        p->value = eq ? eq + 1 : item + len;
        p->value_len = eq ? len - key_len - 1 : 0;
    }

    const char *names[NSLOTS] = {value_field, "Data", zs_field, "Min", "Max", "Cou", "Flag"};
    Py_ssize_t lengths[NSLOTS] = {value_field_len, 4, zs_field_len, 3, 3, 3, 4};
    int ncodes = 0, status = 1;
    for (int i = 0; i < npairs && status == 1; i++) {
        const Pair *p = &pairs[i];
        int k = 0;
        while (k < ncodes && !same(pairs[codes[k].first].code, pairs[codes[k].first].code_len,
                                   p->code, p->code_len))
            k++;
        if (k == ncodes) {
            PyObject *code = code_str(p->code, p->code_len);
            if (code == NULL) {
                status = -1;
                break;
            }
            int is_known = PySet_Contains(known, code);
            long value = 0;
            if (is_known == 1 && factor_ids != NULL) {
                PyObject *id = PyDict_GetItemWithError(factor_ids, code);
                if (id == NULL || !PyLong_CheckExact(id)) {
                    status = PyErr_Occurred() ? -1 : 0; /* to register first: Python */
                } else {
                    value = PyLong_AsLong(id);
                    if (value == -1 && PyErr_Occurred()) {
                        status = -1;
                    } else if (value < INT16_MIN || value > INT16_MAX) {
                        PyErr_Format(PyExc_OverflowError,
                                     "factor id %ld does not fit in smallint", value);
                        status = -1;
                    }
                }
            } else if (is_known != 1) {
                status = is_known; /* 0: a code to map from 2005, the Python path */
            }
            if (status != 1) {
                Py_DECREF(code);
                break;
            }
            codes[k].code = code;
            codes[k].first = i;
            codes[k].id = value;
            for (int j = 0; j < NSLOTS; j++)
                codes[k].slot[j] = -1;
            ncodes++;
        }
        for (int j = 0; j < NSLOTS; j++) {
            if (same(p->field, p->field_len, names[j], lengths[j])) {
                codes[k].slot[j] = i;
                break;
            }
        }
    }
    if (status != 1) {
        for (int k = 0; k < ncodes; k++)
            Py_DECREF(codes[k].code);
        ncodes = 0;
    }
    *ncodes_out = ncodes;
    return status;
}

static void release_codes(Code *codes, int ncodes) {
    for (int k = 0; k < ncodes; k++)
        Py_DECREF(codes[k].code);
}

static PyObject *encode(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *cp, *value_field_obj, *zs_field_obj, *factor_ids, *known;
    int period;
    long station_id;
    long long ts_us;
    double epoch;
    if (!PyArg_ParseTuple(args, "UUUplLdO!O", &cp, &value_field_obj, &zs_field_obj, &period,
                          &station_id, &ts_us, &epoch, &PyDict_Type, &factor_ids, &known))
        return NULL;
    if (!PyAnySet_Check(known)) {
        PyErr_SetString(PyExc_TypeError, "known must be a set or frozenset");
        return NULL;
    }
    if (station_id < INT32_MIN || station_id > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "station_id does not fit in an integer column");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(cp) || !PyUnicode_IS_ASCII(value_field_obj) ||
        !PyUnicode_IS_ASCII(zs_field_obj))
        Py_RETURN_NONE;
    const char *body = (const char *)PyUnicode_DATA(cp);
    Py_ssize_t n = PyUnicode_GET_LENGTH(cp);
    const char *value_field = (const char *)PyUnicode_DATA(value_field_obj);
    Py_ssize_t value_field_len = PyUnicode_GET_LENGTH(value_field_obj);
    const char *zs_field = (const char *)PyUnicode_DATA(zs_field_obj);
    Py_ssize_t zs_field_len = PyUnicode_GET_LENGTH(zs_field_obj);

    Pair pairs[MAX_PAIRS];
    Code codes[MAX_PAIRS];
    int ncodes = 0;
    int parsed = parse_body(body, n, value_field, value_field_len, zs_field, zs_field_len, known,
                            factor_ids, pairs, codes, &ncodes);
    if (parsed < 0)
        return NULL;
    if (parsed == 0)
        Py_RETURN_NONE;

    /* each row: count, 9 lengths, 4 + 2 + 8 + 5 x 8 bytes, then the flag's text */
    Py_ssize_t cap = (Py_ssize_t)ncodes * (2 + 4 * NFIELDS + 4 + 2 + 8 + 5 * 8) + n;
    PyObject *copy = PyBytes_FromStringAndSize(NULL, cap);
    PyObject *feed = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)ncodes * FEED_ROW);
    PyObject *flags = PyTuple_New(ncodes);
    if (copy == NULL || feed == NULL || flags == NULL)
        goto error;
    char *out = PyBytes_AS_STRING(copy);
    char *fout = PyBytes_AS_STRING(feed);
    int32_t station32 = (int32_t)station_id;
    int rows = 0, bad = 0;
    for (int k = 0; k < ncodes; k++) {
        const int *slot = codes[k].slot;
        int text = slot[F_VALUE] >= 0 ? slot[F_VALUE] : slot[F_DATA];
        if (text < 0)
            continue;
        double value;
        int r = read_number(pairs[text].value, pairs[text].value_len, &value);
        if (r < 0)
            goto fallback;
        if (r == 0 || value - value != 0.0) {
            bad++;
            continue;
        }
        double num[4];                /* vmin, vmax, cou, zs */
        int has[4] = {0, 0, 0, 0};
        if (period) {
            for (int j = 0; j < 3; j++) {
                has[j] = optional_number(pairs, slot[F_MIN + j], &num[j]);
                if (has[j] < 0)
                    goto fallback;
            }
        }
        has[3] = optional_number(pairs, slot[F_ZS], &num[3]);
        if (has[3] < 0)
            goto fallback;
        const Pair *flag = slot[F_FLAG] >= 0 ? &pairs[slot[F_FLAG]] : NULL;

        put_u16(&out, NFIELDS);
        put_u32(&out, 4);
        put_u32(&out, (uint32_t)station_id);
        put_u32(&out, 2);
        put_u16(&out, (uint16_t)codes[k].id);
        put_u32(&out, 8);
        put_u64(&out, (uint64_t)ts_us);
        put_f8(&out, value);
        for (int j = 0; j < 4; j++) {
            if (has[j])
                put_f8(&out, num[j]);
            else
                put_null(&out);
        }
        PyObject *flag_text;
        if (flag != NULL) {
            put_u32(&out, (uint32_t)flag->value_len);
            memcpy(out, flag->value, (size_t)flag->value_len);
            out += flag->value_len;
            flag_text = PyUnicode_FromStringAndSize(flag->value, flag->value_len);
            if (flag_text == NULL)
                goto error;
        } else {
            put_null(&out);
            flag_text = Py_NewRef(Py_None);
        }
        PyTuple_SET_ITEM(flags, rows, flag_text);
        int16_t id16 = (int16_t)codes[k].id;
        char *row = fout + (Py_ssize_t)FEED_ROW * rows; /* little-endian host */
        memcpy(row, &station32, 4);
        memcpy(row + 4, &id16, 2);
        memcpy(row + 6, &epoch, 8);
        memcpy(row + 14, &value, 8);
        rows++;
    }
    if (_PyBytes_Resize(&copy, out - PyBytes_AS_STRING(copy)) < 0 ||
        _PyBytes_Resize(&feed, (Py_ssize_t)rows * FEED_ROW) < 0 || _PyTuple_Resize(&flags, rows) < 0)
        goto error;
    release_codes(codes, ncodes);
    return Py_BuildValue("(NNNii)", copy, feed, flags, rows, bad);

fallback:
    release_codes(codes, ncodes);
    Py_DECREF(copy);
    Py_DECREF(feed);
    Py_DECREF(flags);
    Py_RETURN_NONE;
error:
    release_codes(codes, ncodes);
    Py_XDECREF(copy);
    Py_XDECREF(feed);
    Py_XDECREF(flags);
    return NULL;
}

/* latest(cp, known) -> [(code, value, flag), ...] | None: ingest.rows.latest_values of a
 * real-time body (the Rtd of each code that has a number, its Flag or "N"), for the
 * bodies encode accepts (no ids needed). */
static PyObject *latest(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *cp, *known;
    if (!PyArg_ParseTuple(args, "UO", &cp, &known))
        return NULL;
    if (!PyAnySet_Check(known)) {
        PyErr_SetString(PyExc_TypeError, "known must be a set or frozenset");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(cp))
        Py_RETURN_NONE;
    Pair pairs[MAX_PAIRS];
    Code codes[MAX_PAIRS];
    int ncodes = 0;
    int parsed = parse_body((const char *)PyUnicode_DATA(cp), PyUnicode_GET_LENGTH(cp), "Rtd", 3,
                            "ZsRtd", 5, known, NULL, pairs, codes, &ncodes);
    if (parsed < 0)
        return NULL;
    if (parsed == 0)
        Py_RETURN_NONE;
    PyObject *out = PyList_New(0);
    if (out == NULL)
        goto error;
    for (int k = 0; k < ncodes; k++) {
        double value;
        int r = optional_number(pairs, codes[k].slot[F_VALUE], &value);
        if (r < 0) {
            Py_DECREF(out);
            release_codes(codes, ncodes);
            Py_RETURN_NONE;
        }
        if (r == 0)
            continue;
        int f = codes[k].slot[F_FLAG];
        PyObject *flag = f >= 0 && pairs[f].value_len > 0
                             ? PyUnicode_FromStringAndSize(pairs[f].value, pairs[f].value_len)
                             : PyUnicode_FromStringAndSize("N", 1);
        PyObject *item = flag == NULL ? NULL : Py_BuildValue("(OdN)", codes[k].code, value, flag);
        if (item == NULL || PyList_Append(out, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(out);
            goto error;
        }
        Py_DECREF(item);
    }
    release_codes(codes, ncodes);
    return out;
error:
    release_codes(codes, ncodes);
    return NULL;
}

static PyMethodDef methods[] = {
    {"encode", encode, METH_VARARGS,
     "encode(cp, value_field, zs_field, period, station_id, ts_us, epoch, factor_ids, known)"
     " -> (copy, feed, flags, rows, bad) | None"},
    {"latest", latest, METH_VARARGS,
     "latest(cp, known) -> [(code, value, flag), ...] | None (ingest.rows.latest_values)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "ingest._copyrows",
    "Real-time and minute uploads straight to binary COPY rows (see ingest.copyrows).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__copyrows(void) {
#if PY_BIG_ENDIAN
#error "ingest._copyrows writes the feed's columns in host order: little-endian only"
#endif
    return PyModule_Create(&module);
}
