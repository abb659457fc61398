/*
 * fb-pattern: draws a pattern on a Linux framebuffer, and checks a
 * screendump for it; for the display tests (tests/rig/guest-display.sh)
 *
 *   fb-pattern draw /dev/fbN SEED       every pixel its own colour; prints
 *                                       "WIDTHxHEIGHT" of what it drew
 *   fb-pattern check FILE.ppm W H SEED  the screendump is the pattern, WxH,
 *                                       pixel for pixel
 *   fb-pattern info FILE.ppm            prints "WxH N colour(s), R text
 *                                       rows drawn" of it
 *   fb-pattern text FILE.ppm TEXT       the screendump of a text mode shows
 *                                       TEXT (80x25 cells of character and
 *                                       attribute, as VGA keeps them): each
 *                                       cell with a character has pixels of
 *                                       two colours; prints TEXT's lines
 *
 * The pattern is the one tests/qtest/vfio-pci-display-test.c draws.
 * Built static for the inner guest's initramfs, and for the rig.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <fcntl.h>
#include <linux/fb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static uint32_t pattern(unsigned x, unsigned y, unsigned seed)
{
    return ((x * 5 + y + seed) & 0xff) << 16 | ((y * 3 + seed) & 0xff) << 8 |
           ((x ^ y) & 0xff);
}

static int draw(const char *dev, unsigned seed)
{
    struct fb_var_screeninfo var;
    struct fb_fix_screeninfo fix;
    unsigned x, y;
    uint8_t *fb;
    int fd = open(dev, O_RDWR);

    if (fd < 0 || ioctl(fd, FBIOGET_VSCREENINFO, &var) ||
        ioctl(fd, FBIOGET_FSCREENINFO, &fix)) {
        perror(dev);
        return 1;
    }
    if (var.bits_per_pixel != 32) {
        fprintf(stderr, "%s: %u bits per pixel, not 32\n", dev,
                var.bits_per_pixel);
        return 1;
    }
    fb = mmap(NULL, fix.smem_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fb == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (y = 0; y < var.yres; y++) {
        uint32_t *row = (uint32_t *)(fb + (size_t)y * fix.line_length);

        for (x = 0; x < var.xres; x++) {
            row[x] = pattern(x, y, seed);
        }
    }
    msync(fb, fix.smem_len, MS_SYNC);
    printf("%ux%u\n", var.xres, var.yres);
    return 0;
}

typedef struct Picture {
    unsigned width, height;
    uint8_t *rgb;
} Picture;

static int ppm_read(const char *path, Picture *pic)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f || fscanf(f, "P6 %u %u 255", &pic->width, &pic->height) != 2 ||
        fgetc(f) == EOF) {
        fprintf(stderr, "%s: not a PPM screendump\n", path);
        return 1;
    }
    n = (size_t)pic->width * pic->height * 3;
    pic->rgb = malloc(n);
    if (!pic->rgb || fread(pic->rgb, 1, n, f) != n) {
        fprintf(stderr, "%s: short\n", path);
        return 1;
    }
    fclose(f);
    return 0;
}

static uint32_t pixel(const Picture *pic, unsigned x, unsigned y)
{
    const uint8_t *p = pic->rgb + ((size_t)y * pic->width + x) * 3;

    return p[0] << 16 | p[1] << 8 | p[2];
}

static int check(const char *path, unsigned w, unsigned h, unsigned seed)
{
    unsigned x, y, bad = 0;
    Picture pic;

    if (ppm_read(path, &pic)) {
        return 1;
    }
    if (pic.width != w || pic.height != h) {
        fprintf(stderr, "%s: %ux%u, not %ux%u\n", path, pic.width,
                pic.height, w, h);
        return 1;
    }
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            if (pixel(&pic, x, y) != pattern(x, y, seed) && !bad++) {
                fprintf(stderr, "%s: first difference at %u,%u: 0x%06x, "
                        "not 0x%06x\n", path, x, y, pixel(&pic, x, y),
                        pattern(x, y, seed));
            }
        }
    }
    printf("%s: %ux%u, %u pixels differ\n", path, w, h, bad);
    return bad != 0;
}

/* How many colours cell (cx, cy) has: 1 or 2 (2 meaning "more than 1") */
static int cell_colours(const Picture *pic, unsigned cx, unsigned cy)
{
    unsigned cw = pic->width / 80, ch = pic->height / 25, x, y;
    uint32_t first = pixel(pic, cx * cw, cy * ch);

    for (y = cy * ch; y < (cy + 1) * ch; y++) {
        for (x = cx * cw; x < (cx + 1) * cw; x++) {
            if (pixel(pic, x, y) != first) {
                return 2;
            }
        }
    }
    return 1;
}

/* The text's rows that hold more than blanks, as "text: ROW" lines */
static void print_text(const uint8_t *cells)
{
    char row[81];
    unsigned x, y;

    for (y = 0; y < 25; y++) {
        int blank = 1;

        for (x = 0; x < 80; x++) {
            uint8_t c = cells[(y * 80 + x) * 2];

            row[x] = c >= 0x20 && c < 0x7f ? c : ' ';
            blank &= row[x] == ' ';
        }
        row[80] = 0;
        if (!blank) {
            printf("text: %s\n", row);
        }
    }
}

static int text(const char *path, const char *text_path)
{
    uint8_t cells[80 * 25 * 2];
    unsigned i, shown = 0, bad = 0;
    FILE *f = fopen(text_path, "rb");
    Picture pic;

    if (!f || fread(cells, 1, sizeof(cells), f) != sizeof(cells)) {
        fprintf(stderr, "%s: not 4000 bytes of text mode\n", text_path);
        return 1;
    }
    fclose(f);
    print_text(cells);
    if (ppm_read(path, &pic)) {
        return 1;
    }
    for (i = 0; i < 80 * 25; i++) {
        uint8_t c = cells[i * 2], attr = cells[i * 2 + 1];
        int want = (c == ' ' || c == 0 || (attr & 0x0f) == (attr >> 4 & 7))
                   ? 1 : 2;

        /* A glyph such as '_' may leave a cell's top rows blank: count 2s */
        if (want == 2) {
            shown++;
            bad += cell_colours(&pic, i % 80, i / 80) != 2;
        }
    }
    printf("%s: %ux%u, %u cells with a character, %u of them blank\n", path,
           pic.width, pic.height, shown, bad);
    return bad != 0 || !shown;
}

/* Whether rows [y0, y1) of @pic hold more than one colour */
static int band_drawn(const Picture *pic, unsigned y0, unsigned y1)
{
    unsigned x, y;

    for (y = y0; y < y1 && y < pic->height; y++) {
        for (x = 0; x < pic->width; x++) {
            if (pixel(pic, x, y) != pixel(pic, 0, y0)) {
                return 1;
            }
        }
    }
    return 0;
}

/*
 * Its size, whether it has more than one colour, and how many 16-pixel
 * text rows (a firmware's font) have something drawn in them
 */
static int info(const char *path)
{
    unsigned y, colours, rows = 0;
    Picture pic;

    if (ppm_read(path, &pic)) {
        return 1;
    }
    colours = band_drawn(&pic, 0, pic.height) ? 2 : 1;
    for (y = 0; y < pic.height; y += 16) {
        rows += band_drawn(&pic, y, y + 16);
    }
    printf("%ux%u %s, %u text rows drawn\n", pic.width, pic.height,
           colours == 1 ? "1 colour" : "more colours", rows);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "info")) {
        return info(argv[2]);
    }
    if (argc == 4 && !strcmp(argv[1], "draw")) {
        return draw(argv[2], atoi(argv[3]));
    }
    if (argc == 6 && !strcmp(argv[1], "check")) {
        return check(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    }
    if (argc == 4 && !strcmp(argv[1], "text")) {
        return text(argv[2], argv[3]);
    }
    fprintf(stderr, "usage: fb-pattern draw DEV SEED | check PPM W H SEED | "
            "info PPM | text PPM TEXT\n");
    return 2;
}
