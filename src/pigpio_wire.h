/*
 * pigpio's socket interface, as its clients (the pigpio Python module,
 * pigs, gpiozero's PiGPIOFactory, Node-RED's pi-gpiod) speak it: the
 * command numbers picmd answers, the error codes it returns, and the
 * frame sizes.  Numbers are pigpio's documented interface (its
 * command.h and pigpio.h), so they must not change.
 */
#ifndef PICMD_PIGPIO_WIRE_H
#define PICMD_PIGPIO_WIRE_H

/* A request is cmd, p1, p2, p3 (little-endian uint32); p3 > 0 means p3
 * bytes of extension follow.  A response echoes cmd, p1, p2 and puts the
 * result (negative: an error) in the last word; for the commands that
 * return data, result bytes follow it. */
#define PG_FRAME		16
#define PG_MAX_EXTENSION	65536	/* larger: the connection is closed */
#define PG_REPORT		12	/* a notification: seq, flags, tick, level */

enum pg_cmd_number {
	PG_MODES = 0, PG_MODEG = 1, PG_PUD = 2, PG_READ = 3, PG_WRITE = 4,
	PG_PWM = 5, PG_PRS = 6, PG_PFS = 7, PG_SERVO = 8,
	PG_BR1 = 10, PG_BR2 = 11, PG_BC1 = 12, PG_BC2 = 13, PG_BS1 = 14,
	PG_BS2 = 15, PG_TICK = 16, PG_HWVER = 17,
	PG_NB = 19, PG_NP = 20, PG_NC = 21,
	PG_PRG = 22, PG_PFG = 23, PG_PRRG = 24, PG_PIGPV = 26,
	PG_I2CO = 54, PG_I2CC = 55, PG_I2CRD = 56, PG_I2CWD = 57,
	PG_I2CRB = 61, PG_I2CWB = 62,
	PG_SPIO = 71, PG_SPIC = 72, PG_SPIX = 75,
	PG_GDC = 83, PG_GPW = 84, PG_HP = 86,
	PG_FG = 97, PG_NOIB = 99,
	PG_NCOMMANDS = 128	/* numbers below this are tabled */
};

enum pg_error {
	PG_BAD_USER_GPIO = -2,
	PG_BAD_GPIO = -3,
	PG_BAD_MODE = -4,
	PG_BAD_LEVEL = -5,
	PG_BAD_PUD = -6,
	PG_BAD_PULSEWIDTH = -7,
	PG_BAD_DUTYCYCLE = -8,
	PG_BAD_DUTYRANGE = -21,
	PG_NO_HANDLE = -24,
	PG_BAD_HANDLE = -25,
	PG_NOT_PERMITTED = -41,
	PG_SOME_PERMITTED = -42,
	PG_GPIO_IN_USE = -50,
	PG_NO_MEMORY = -58,
	PG_I2C_OPEN_FAILED = -71,
	PG_SPI_OPEN_FAILED = -73,
	PG_BAD_I2C_BUS = -74,
	PG_BAD_I2C_ADDR = -75,
	PG_BAD_SPI_CHANNEL = -76,
	PG_BAD_FLAGS = -77,
	PG_BAD_SPI_SPEED = -78,
	PG_BAD_PARAM = -81,
	PG_I2C_WRITE_FAILED = -82,
	PG_I2C_READ_FAILED = -83,
	PG_BAD_SPI_COUNT = -84,
	PG_UNKNOWN_COMMAND = -88,
	PG_SPI_XFER_FAILED = -89,
	PG_NOT_PWM_GPIO = -92,
	PG_NOT_SERVO_GPIO = -93,
	PG_NOT_HPWM_GPIO = -95,
	PG_BAD_HPWM_FREQ = -96,
	PG_BAD_HPWM_DUTY = -97,
	PG_BAD_FILTER = -125,
	PG_CMD_INTERRUPTED = -144,
};

#define PG_MAX_GPIO		53
#define PG_MAX_USER_GPIO	31
#define PG_NOTIFY_SLOTS		32
#define PG_SPI_SLOTS		32
#define PG_I2C_SLOTS		64
#define PG_MIN_RANGE		25
#define PG_MAX_RANGE		40000
#define PG_DEFAULT_RANGE	255
#define PG_DEFAULT_FREQ		800
#define PG_MAX_STEADY_US	300000
#define PG_HW_PWM_RANGE		1000000
#define PG_HW_PWM_MAX_FREQ	125000000
/* The daemon version pigpio's PIGPV answers: the socket interface picmd
 * follows is that of pigpio 79 (python3-pigpio 1.78). */
#define PG_VERSION		79

#endif
