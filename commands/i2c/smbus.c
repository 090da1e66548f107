/*
 * Which SMBus transfer stands in for an I2C transaction, on an adapter
 * that cannot do plain I2C (i2c_smbus_plan in backend.h).  A pure
 * function, so the tests can try every adapter's functionality without
 * one; backend_dev.c carries the plan out.
 *
 * The mapping is the one i2cget/i2cset use, read the other way: SMBus
 * transfers are I2C transactions of fixed shapes, and a register write
 * followed by a read with a repeated start is exactly "read byte data"
 * or "I2C block read".  Shapes SMBus has no name for are refused rather
 * than split into several transfers: a read of 3 bytes as 3 "read byte"
 * transfers would be 3 transactions with stops in between, which a
 * device may answer differently (and another master could cut in).
 */
#include <linux/i2c.h>

#include "backend.h"

/* The most data bytes an SMBus I2C-block transfer carries. */
#define SMBUS_BLOCK_MAX	32

enum i2c_smbus_op
i2c_smbus_plan(unsigned long funcs, size_t wlen, size_t rlen)
{
	if (wlen == 0 && rlen == 1)
		return (funcs & I2C_FUNC_SMBUS_READ_BYTE) ?
		    I2C_SMBUS_OP_READ_BYTE : I2C_SMBUS_OP_NONE;
	if (wlen == 1 && rlen == 0)
		return (funcs & I2C_FUNC_SMBUS_WRITE_BYTE) ?
		    I2C_SMBUS_OP_WRITE_BYTE : I2C_SMBUS_OP_NONE;
	if (wlen == 2 && rlen == 0 &&
	    (funcs & I2C_FUNC_SMBUS_WRITE_BYTE_DATA))
		return I2C_SMBUS_OP_WRITE_BYTE_DATA;
	/* Two bytes also fit an I2C block write of one data byte. */
	if (wlen >= 2 && wlen <= 1 + SMBUS_BLOCK_MAX && rlen == 0)
		return (funcs & I2C_FUNC_SMBUS_WRITE_I2C_BLOCK) ?
		    I2C_SMBUS_OP_WRITE_I2C_BLOCK : I2C_SMBUS_OP_NONE;
	if (wlen == 1 && rlen == 1 &&
	    (funcs & I2C_FUNC_SMBUS_READ_BYTE_DATA))
		return I2C_SMBUS_OP_READ_BYTE_DATA;
	if (wlen == 1 && rlen >= 1 && rlen <= SMBUS_BLOCK_MAX)
		return (funcs & I2C_FUNC_SMBUS_READ_I2C_BLOCK) ?
		    I2C_SMBUS_OP_READ_I2C_BLOCK : I2C_SMBUS_OP_NONE;
	return I2C_SMBUS_OP_NONE;
}
