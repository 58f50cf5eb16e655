/*
 * protocol._fastpath — the decoder's common case in C (issue 23).
 *
 * crc16(data) -> int
 *     The HJ 212 CRC (protocol/crc.py holds the theory and the Python forms;
 *     crc16_reference, the standard's bit loop, is the tests' oracle).
 * quick(buf, start, crc_at) -> (head, cn, flag, cp) | None | NotImplemented
 *     What protocol.decoder.Decoder._fast reads from the frame buf[start:crc_at + 6]
 *     whose CRLF sits where its LLLL says: None when the CRC does not match, or the
 *     head is not in the standard's order (the careful path reads it); NotImplemented
 *     when the data segment is not ASCII (the Python form decides).  The head must
 *     match decoder._STD_HEAD exactly; tests/protocol/test_fastpath.py holds the two
 *     forms to the same events.
 * frame_layout(frame_class, names)
 *     Where the slots of protocol.Frame are (names: its fields in make_frame's order), for
 *     feed_clean to build frames as make_frame does, without the descriptor calls.
 * feed_clean(data, classes, unknown, editions) -> [Frame, ...] | None
 *     Decoder.feed on an empty decoder for data that is whole clean frames only: the
 *     frames themselves (class by CN from ``classes``, else ``unknown``; edition by
 *     version from ``editions``).
 * masked_text(raw) -> str
 *     protocol.redact.mask_frame(raw).decode("utf-8", "replace"): what the ledger stores.
 * data_ack(qn, pw, mn) -> bytes | None
 *     The 9014 answer protocol.encoders.encode_data_ack formats for a clean 2017 head.
 *
 * The CRC is the table loop  reg = 0xFFFF; for each byte b: reg = T[(reg >> 8) ^ b]
 * with T the reflected CRC-16/ARC table (polynomial 0xA001).  In a busy ingest worker
 * the Python fold's four 64 K-entry tables fall out of the cache (about 4-5 µs a frame,
 * issue 23); this loop's 512-byte table stays in it.
 */
#define _GNU_SOURCE /* memmem */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

static uint16_t table[256];

static PyObject *crc16(PyObject *Py_UNUSED(self), PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *p = view.buf;
    unsigned int reg = 0xFFFF;
    for (Py_ssize_t i = 0; i < view.len; i++)
        reg = table[(reg >> 8) ^ p[i]];
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(reg);
}

static PyObject *empty_tuple;
static PyObject *k_qn, *k_st, *k_cn, *k_pw, *k_mn, *k_flag, *k_pnum, *k_pno;

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }

/* length of the run of digits at s[i:n] */
static Py_ssize_t digit_run(const char *s, Py_ssize_t i, Py_ssize_t n) {
    Py_ssize_t j = i;
    while (j < n && is_digit(s[j]))
        j++;
    return j - i;
}

static inline int literal(const char *s, Py_ssize_t i, Py_ssize_t n, const char *lit,
                          Py_ssize_t len) {
    return i + len <= n && memcmp(s + i, lit, (size_t)len) == 0;
}

/* "[^;,= ]*;" at s[i:n]: the value's end (the ';'), or -1 */
static Py_ssize_t plain_value(const char *s, Py_ssize_t i, Py_ssize_t n) {
    for (Py_ssize_t j = i; j < n; j++) {
        char c = s[j];
        if (c == ';')
            return j;
        if (c == ',' || c == '=' || c == ' ')
            return -1;
    }
    return -1;
}

static int set_text(PyObject *head, PyObject *key, const char *s, Py_ssize_t a, Py_ssize_t b) {
    PyObject *v = PyUnicode_DecodeASCII(s + a, b - a, NULL);
    if (v == NULL)
        return -1;
    int r = PyDict_SetItem(head, key, v);
    Py_DECREF(v);
    return r;
}

/* quick on buf[start:crc_at + 4] (bounds checked by the caller): a new reference to the
 * (head, cn, flag, cp) tuple, None or NotImplemented; NULL with an exception set. */
static PyObject *quick_at(const char *buf, Py_ssize_t start, Py_ssize_t crc_at) {
    PyObject *result = NULL;
    const char *seg = buf + start + 6;
    Py_ssize_t n = crc_at - start - 6;
    const unsigned char *u = (const unsigned char *)seg;
    unsigned int reg = 0xFFFF;
    int ascii = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        reg = table[(reg >> 8) ^ u[i]];
        ascii &= u[i] < 0x80;
    }
    /* the sent CRC: four hex digits, either case (sent.upper() == b"%04X" % crc) */
    const char *sent = buf + crc_at;
    for (int k = 0; k < 4; k++) {
        char c = sent[k];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        if (c != "0123456789ABCDEF"[(reg >> (12 - 4 * k)) & 0xF]) {
            result = Py_NewRef(Py_None);
            goto done;
        }
    }
    if (!ascii) {
        result = Py_NewRef(Py_NotImplemented);
        goto done;
    }
    /* decoder._STD_HEAD: QN=17 digits;ST=2 alnum;CN=4 digits;PW=..;MN=..;Flag=1-3 digits;
       [PNUM=1-4 digits;PNO=1-4 digits;]CP=&& */
    Py_ssize_t i = 0, pw, mn, flag_end, pnum = -1, pnum_end = -1, pno = -1, pno_end = -1;
    if (!literal(seg, 0, n, "QN=", 3) || digit_run(seg, 3, n) < 17 || !literal(seg, 20, n, ";ST=", 4))
        goto no;
    i = 24;
    for (int k = 0; k < 2; k++, i++) {
        char c = i < n ? seg[i] : 0;
        if (!(is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            goto no;
    }
    if (!literal(seg, i, n, ";CN=", 4) || digit_run(seg, i + 4, n) < 4 ||
        !literal(seg, i + 8, n, ";PW=", 4))
        goto no;
    i += 12; /* the PW value */
    pw = i;
    i = plain_value(seg, i, n);
    if (i < 0 || !literal(seg, i, n, ";MN=", 4))
        goto no;
    Py_ssize_t pw_end = i;
    mn = i + 4;
    i = plain_value(seg, mn, n);
    if (i < 0 || !literal(seg, i, n, ";Flag=", 6))
        goto no;
    Py_ssize_t mn_end = i;
    Py_ssize_t flag = i + 6;
    Py_ssize_t run = digit_run(seg, flag, n);
    if (run < 1 || run > 3 || !literal(seg, flag + run, n, ";", 1))
        goto no;
    flag_end = flag + run;
    i = flag_end + 1;
    if (!literal(seg, i, n, "CP=&&", 5)) {
        if (!literal(seg, i, n, "PNUM=", 5))
            goto no;
        pnum = i + 5;
        run = digit_run(seg, pnum, n);
        if (run < 1 || run > 4 || !literal(seg, pnum + run, n, ";PNO=", 5))
            goto no;
        pnum_end = pnum + run;
        pno = pnum_end + 5;
        run = digit_run(seg, pno, n);
        if (run < 1 || run > 4 || !literal(seg, pno + run, n, ";CP=&&", 6))
            goto no;
        pno_end = pno + run;
        i = pno_end + 1;
    }
    Py_ssize_t idx = i + 5;
    Py_ssize_t close = -1;
    for (Py_ssize_t j = n - 2; j >= 0; j--) {
        if (seg[j] == '&' && seg[j + 1] == '&') {
            close = j;
            break;
        }
    }
    if (close < idx)
        goto no;
    int cn = 0, flag_value = 0;
    for (Py_ssize_t j = pw - 8; j < pw - 4; j++)
        cn = cn * 10 + (seg[j] - '0');
    for (Py_ssize_t j = flag; j < flag_end; j++)
        flag_value = flag_value * 10 + (seg[j] - '0');
    PyObject *head = PyDict_New();
    if (head == NULL)
        goto done;
    if (set_text(head, k_qn, seg, 3, 20) < 0 || set_text(head, k_st, seg, 24, 26) < 0 ||
        set_text(head, k_cn, seg, pw - 8, pw - 4) < 0 || set_text(head, k_pw, seg, pw, pw_end) < 0 ||
        set_text(head, k_mn, seg, mn, mn_end) < 0 || set_text(head, k_flag, seg, flag, flag_end) < 0 ||
        (pnum >= 0 && (set_text(head, k_pnum, seg, pnum, pnum_end) < 0 ||
                       set_text(head, k_pno, seg, pno, pno_end) < 0))) {
        Py_DECREF(head);
        goto done;
    }
    PyObject *cp = PyUnicode_DecodeASCII(seg + idx, close - idx, NULL);
    if (cp == NULL) {
        Py_DECREF(head);
        goto done;
    }
    result = Py_BuildValue("(NiiN)", head, cn, flag_value, cp);
    goto done;
no:
    result = Py_NewRef(Py_None);
done:
    return result;
}

static PyObject *quick(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer view;
    Py_ssize_t start, crc_at;
    if (!PyArg_ParseTuple(args, "y*nn", &view, &start, &crc_at))
        return NULL;
    PyObject *result = NULL;
    if (start < 0 || crc_at < start + 6 || crc_at + 4 > view.len)
        PyErr_SetString(PyExc_ValueError, "quick: start and crc_at outside the buffer");
    else
        result = quick_at(view.buf, start, crc_at);
    PyBuffer_Release(&view);
    return result;
}

/* The slots of protocol.Frame (frame_layout): edition, cn, flag, head, cp, raw, notes,
 * _parsed, _data_time; a frame class qualifies when it is Frame or a subclass without
 * slots of its own. */
#define FRAME_SLOTS 9
static PyTypeObject *frame_base;
static Py_ssize_t frame_offsets[FRAME_SLOTS];

static PyObject *frame_layout(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *cls, *names;
    if (!PyArg_ParseTuple(args, "O!O!", &PyType_Type, &cls, &PyTuple_Type, &names))
        return NULL;
    if (PyTuple_GET_SIZE(names) != FRAME_SLOTS) {
        PyErr_SetString(PyExc_ValueError, "frame_layout: 9 field names expected");
        return NULL;
    }
    Py_ssize_t offsets[FRAME_SLOTS];
    for (int k = 0; k < FRAME_SLOTS; k++) {
        PyObject *descr = PyDict_GetItemWithError(((PyTypeObject *)cls)->tp_dict,
                                                  PyTuple_GET_ITEM(names, k));
        if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type) ||
            ((PyMemberDescrObject *)descr)->d_member->type != T_OBJECT_EX) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "frame_layout: not a slot of the class");
            return NULL;
        }
        offsets[k] = ((PyMemberDescrObject *)descr)->d_member->offset;
    }
    memcpy(frame_offsets, offsets, sizeof offsets);
    Py_XSETREF(frame_base, (PyTypeObject *)Py_NewRef(cls));
    Py_RETURN_NONE;
}

/* The DataTime of an ASCII CP as Frame.data_time's first branch reads it: the digits of a
 * "DataTime=" opening the CP, up to ';' or the end, when no other "DataTime=" follows;
 * else None (a new reference either way; NULL with an error). */
static PyObject *opening_data_time(PyObject *cp) {
    if (!PyUnicode_IS_ASCII(cp))
        Py_RETURN_NONE;
    const char *s = (const char *)PyUnicode_DATA(cp);
    Py_ssize_t n = PyUnicode_GET_LENGTH(cp), end = 9;
    if (n <= 9 || memcmp(s, "DataTime=", 9) != 0)
        Py_RETURN_NONE;
    while (end < n && s[end] != ';') {
        if (!is_digit(s[end]))
            Py_RETURN_NONE;
        end++;
    }
    if (end == 9 || memmem(s + 9, (size_t)(n - 9), "DataTime=", 9) != NULL)
        Py_RETURN_NONE;
    return PyUnicode_Substring(cp, 9, end);
}

/* A frame of class cls with these slot values (make_frame in C); NULL with an error. */
static PyObject *new_frame(PyTypeObject *cls, PyObject *values[FRAME_SLOTS]) {
    PyObject *obj = cls->tp_alloc(cls, 0);
    if (obj == NULL)
        return NULL;
    for (int k = 0; k < FRAME_SLOTS; k++)
        *(PyObject **)((char *)obj + frame_offsets[k]) = Py_NewRef(values[k]);
    return obj;
}

/* feed_clean(data, classes, unknown, editions) -> [Frame, ...] | None
 * Decoder.feed on an empty decoder whose data is nothing but whole frames that its fast
 * path reads (each "##" LLLL with LLLL <= 1024, the CRLF where LLLL says, quick accepts
 * it, a Flag whose version ``editions`` names, a class frame_layout covers); None for
 * anything else, and the Python form reads the data from the start. */
static PyObject *feed_clean(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *data, *classes, *unknown, *editions;
    if (!PyArg_ParseTuple(args, "O!O!OO!", &PyBytes_Type, &data, &PyDict_Type, &classes,
                          &unknown, &PyDict_Type, &editions))
        return NULL;
    if (frame_base == NULL)
        Py_RETURN_NONE;
    const char *buf = PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data), pos = 0;
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    while (pos < n) {
        if (n - pos < 12 || buf[pos] != '#' || buf[pos + 1] != '#')
            goto python;
        Py_ssize_t length = 0;
        for (int k = 2; k < 6; k++) {
            char c = buf[pos + k];
            if (c < '0' || c > '9')
                goto python;
            length = length * 10 + (c - '0');
        }
        Py_ssize_t crc_at = pos + 6 + length, end = crc_at + 6;
        if (length > 1024 || end > n || buf[crc_at + 4] != '\r' || buf[crc_at + 5] != '\n')
            goto python;
        PyObject *parts = quick_at(buf, pos, crc_at);
        if (parts == NULL)
            goto error;
        if (!PyTuple_Check(parts) || !PyLong_CheckExact(PyTuple_GET_ITEM(parts, 2))) {
            Py_DECREF(parts);
            goto python;
        }
        PyObject *cn = PyTuple_GET_ITEM(parts, 1), *flag = PyTuple_GET_ITEM(parts, 2);
        long version = PyLong_AsLong(flag) >> 2;
        PyObject *key = PyLong_FromLong(version);
        PyObject *edition = key == NULL ? NULL : PyDict_GetItemWithError(editions, key);
        Py_XDECREF(key);
        PyObject *cls = edition == NULL ? NULL : PyDict_GetItemWithError(classes, cn);
        if (edition != NULL && cls == NULL && !PyErr_Occurred())
            cls = unknown;
        if (PyErr_Occurred()) {
            Py_DECREF(parts);
            goto error;
        }
        if (edition == NULL || !PyType_Check(cls) ||
            !PyType_IsSubtype((PyTypeObject *)cls, frame_base) ||
            ((PyTypeObject *)cls)->tp_basicsize != frame_base->tp_basicsize) {
            Py_DECREF(parts);
            goto python;
        }
        /* data[pos:end]: the data itself when it is this one frame, as Python slices */
        PyObject *raw = (pos == 0 && end == n) ? Py_NewRef(data)
                                               : PyBytes_FromStringAndSize(buf + pos, end - pos);
        if (raw == NULL) {
            Py_DECREF(parts);
            goto error;
        }
        PyObject *data_time = opening_data_time(PyTuple_GET_ITEM(parts, 3));
        if (data_time == NULL) {
            Py_DECREF(raw);
            Py_DECREF(parts);
            goto error;
        }
        PyObject *values[FRAME_SLOTS] = {edition, cn, flag, PyTuple_GET_ITEM(parts, 0),
                                         PyTuple_GET_ITEM(parts, 3), raw, empty_tuple, Py_None,
                                         data_time};
        PyObject *frame = new_frame((PyTypeObject *)cls, values);
        Py_DECREF(data_time);
        Py_DECREF(raw);
        Py_DECREF(parts);
        if (frame == NULL || PyList_Append(out, frame) < 0) {
            Py_XDECREF(frame);
            goto error;
        }
        Py_DECREF(frame);
        pos = end;
    }
    if (PyList_GET_SIZE(out) > 0)
        return out;
python:
    Py_DECREF(out);
    Py_RETURN_NONE;
error:
    Py_DECREF(out);
    return NULL;
}

/* data_ack(qn, pw, mn) -> bytes | None: the 2017 data answer (9014) encoders.
 * encode_data_ack formats for the usual head, or None when a field is not plain ASCII
 * without ; , = & CR LF (the Python form decides). */
static PyObject *data_ack(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *fields[3];
    if (!PyArg_ParseTuple(args, "UUU", &fields[0], &fields[1], &fields[2]))
        return NULL;
    static const char *before[3] = {"QN=", ";ST=91;CN=9014;PW=", ";MN="};
    char seg[1100];
    Py_ssize_t n = 0;
    for (int k = 0; k < 3; k++) {
        if (!PyUnicode_IS_ASCII(fields[k]))
            Py_RETURN_NONE;
        const char *text = (const char *)PyUnicode_DATA(fields[k]);
        Py_ssize_t len = PyUnicode_GET_LENGTH(fields[k]);
        if (len == 0 || len > 300)
            Py_RETURN_NONE;
        for (Py_ssize_t i = 0; i < len; i++) {
            char c = text[i];
            if (c == ';' || c == ',' || c == '=' || c == '&' || c == '\r' || c == '\n')
                Py_RETURN_NONE;
        }
        size_t blen = strlen(before[k]);
        memcpy(seg + n, before[k], blen);
        n += (Py_ssize_t)blen;
        memcpy(seg + n, text, (size_t)len);
        n += len;
    }
    memcpy(seg + n, ";Flag=4;CP=&&&&", 15);
    n += 15;
    unsigned int reg = 0xFFFF;
    for (Py_ssize_t i = 0; i < n; i++)
        reg = table[(reg >> 8) ^ (unsigned char)seg[i]];
    PyObject *out = PyBytes_FromStringAndSize(NULL, n + 12);
    if (out == NULL)
        return NULL;
    char *p = PyBytes_AS_STRING(out);
    char head[8];
    snprintf(head, sizeof head, "##%04d", (int)n); /* n < 1000: three fields of <= 300 */
    memcpy(p, head, 6);
    memcpy(p + 6, seg, (size_t)n);
    for (int k = 0; k < 4; k++)
        p[6 + n + k] = "0123456789ABCDEF"[(reg >> (12 - 4 * k)) & 0xF];
    p[n + 10] = '\r';
    p[n + 11] = '\n';
    return out;
}

/* _starts_field of protocol.redact: the name at `at` follows ; , & or the ##dddd header */
static int starts_field(const char *raw, Py_ssize_t at) {
    if (at <= 0)
        return 0;
    char c = raw[at - 1];
    return c == ';' || c == ',' || c == '&' || (at >= 6 && raw[at - 6] == '#' && raw[at - 5] == '#');
}

static inline int secret_char(char c) {
    return c != ';' && c != ',' && c != '&' && c != '\r' && c != '\n';
}

/* One pass of protocol.redact._mask: every "<name>=" + one or more value bytes (the
 * regex <name>=[^;,&\r\n]+, left to right, without overlap) whose name starts a field
 * gets the value "******".  Writes into out (room for n + 6 per match); returns its
 * length. */
static Py_ssize_t mask_pass(const char *raw, Py_ssize_t n, const char *name, Py_ssize_t nlen,
                            char *out) {
    Py_ssize_t o = 0, pos = 0, i = 0;
    while (i + nlen < n) {
        const char *hit = memmem(raw + i, (size_t)(n - i), name, (size_t)nlen);
        if (hit == NULL)
            break;
        i = hit - raw;
        if (i + nlen >= n)
            break;
        if (!secret_char(raw[i + nlen])) {
            i++;
            continue;
        }
        Py_ssize_t end = i + nlen;
        while (end < n && secret_char(raw[end]))
            end++;
        Py_ssize_t at = i >= 3 && memcmp(raw + i - 3, "New", 3) == 0 ? i - 3 : i;
        if (starts_field(raw, at)) {
            memcpy(out + o, raw + pos, (size_t)(i + nlen - pos));
            o += i + nlen - pos;
            memcpy(out + o, "******", 6);
            o += 6;
            pos = end;
        }
        i = end;
    }
    memcpy(out + o, raw + pos, (size_t)(n - pos));
    return o + n - pos;
}

/* masked_text(raw) -> str: protocol.redact.mask_frame(raw).decode("utf-8", "replace") */
static PyObject *masked_text(PyObject *Py_UNUSED(self), PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const char *raw = view.buf;
    Py_ssize_t n = view.len;
    /* a match is at least 4 bytes ("PW=" + 1) and grows by at most 5: the first pass
       writes less than 3n + 16 bytes, the second (7-byte matches) less than twice that */
    size_t size1 = 3 * (size_t)n + 16, size2 = 2 * size1 + 16;
    char stack[16384];
    char *one = size1 + size2 <= sizeof stack ? stack : PyMem_Malloc(size1 + size2);
    if (one == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    char *two = one + size1;
    Py_ssize_t len = mask_pass(raw, n, "PW=", 3, one);
    const char *text = one;
    if (memmem(one, (size_t)len, "NewSK=", 6) != NULL) {
        len = mask_pass(one, len, "NewSK=", 6, two);
        text = two;
    }
    PyObject *out = PyUnicode_DecodeUTF8(text, len, "replace");
    if (one != stack)
        PyMem_Free(one);
    PyBuffer_Release(&view);
    return out;
}

static PyMethodDef methods[] = {
    {"crc16", crc16, METH_O, "crc16(data) -> int: the HJ 212 CRC of a bytes-like object"},
    {"quick", quick, METH_VARARGS,
     "quick(buf, start, crc_at) -> (head, cn, flag, cp) | None | NotImplemented"},
    {"frame_layout", frame_layout, METH_VARARGS,
     "frame_layout(frame_class, names): where feed_clean puts a frame's fields"},
    {"feed_clean", feed_clean, METH_VARARGS,
     "feed_clean(data, classes, unknown, editions) -> [Frame, ...] | None"},
    {"data_ack", data_ack, METH_VARARGS, "data_ack(qn, pw, mn) -> bytes | None: a 2017 9014"},
    {"masked_text", masked_text, METH_O,
     "masked_text(raw) -> str: protocol.redact.mask_frame(raw) decoded (invalid UTF-8 replaced)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "protocol._fastpath",
    "The decoder's common case in C (see protocol.crc and protocol.decoder).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastpath(void) {
    for (unsigned int i = 0; i < 256; i++) {
        unsigned int reg = i;
        for (int k = 0; k < 8; k++)
            reg = (reg & 1) ? (reg >> 1) ^ 0xA001 : reg >> 1;
        table[i] = (uint16_t)reg;
    }
    empty_tuple = PyTuple_New(0);
    if (empty_tuple == NULL)
        return NULL;
    const char *names[8] = {"QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO"};
    PyObject **keys[8] = {&k_qn, &k_st, &k_cn, &k_pw, &k_mn, &k_flag, &k_pnum, &k_pno};
    for (int k = 0; k < 8; k++) {
        *keys[k] = PyUnicode_InternFromString(names[k]);
        if (*keys[k] == NULL)
            return NULL;
    }
    return PyModule_Create(&module);
}
