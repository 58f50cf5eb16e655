/*
 * protocol._crc16 — the HJ 212 CRC in C (protocol/crc.py holds the theory and the
 * Python forms; crc16_reference, the standard's bit loop, is the tests' oracle).
 *
 *     reg = 0xFFFF; for each byte b: reg = T[(reg >> 8) ^ b]
 *
 * with T the reflected CRC-16/ARC table (polynomial 0xA001).  In a busy ingest worker
 * the Python fold's four 64 K-entry tables fall out of the cache (about 4-5 µs a frame,
 * issue 23); this loop's 512-byte table stays in it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

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

static PyMethodDef methods[] = {
    {"crc16", crc16, METH_O, "crc16(data) -> int: the HJ 212 CRC of a bytes-like object"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "protocol._crc16", "The HJ 212 CRC in C (see protocol.crc).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__crc16(void) {
    for (unsigned int i = 0; i < 256; i++) {
        unsigned int reg = i;
        for (int k = 0; k < 8; k++)
            reg = (reg & 1) ? (reg >> 1) ^ 0xA001 : reg >> 1;
        table[i] = (uint16_t)reg;
    }
    return PyModule_Create(&module);
}
