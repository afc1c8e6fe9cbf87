package io.streamdiffusion4j.image;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * libjpeg-turbo's TurboJPEG API through the JDK's foreign-function interface: JPEG decode and
 * encode in about 1 ms at 512x512, several times faster than ImageIO. PNG and other formats are
 * handed to ImageIO. Loaded only where libturbojpeg is installed (Debian: libturbojpeg0; macOS:
 * brew install jpeg-turbo).
 *
 * <p>Every call creates its own TurboJPEG handle and destroys it before returning. A handle is
 * not thread-safe, and after an error libjpeg's state in it is not reset: a shared handle that
 * once read a JPEG without a start of scan crashed the process (SIGSEGV) on the next frame, and
 * one that read a bad Huffman table refused every later frame. A handle costs microseconds
 * against the millisecond a decode takes (docs/RELIABILITY.md), so calls run in parallel.
 */
public final class TurboJpegCodec implements ImageCodec {
    private static final int TJPF_RGB = 0;
    private static final int TJSAMP_420 = 2;
    /** Damaged data ("premature end of data segment") is an error, not a grey image. */
    private static final int TJFLAG_STOPONWARNING = 8192;
    /** At most 500 scans in a progressive JPEG: each costs a pass over the image (ignored before libjpeg-turbo 2.1). */
    private static final int TJFLAG_LIMITSCANS = 32768;

    private final MethodHandle initDecompress;
    private final MethodHandle decompressHeader3;
    private final MethodHandle decompress2;
    private final MethodHandle initCompress;
    private final MethodHandle compress2;
    private final MethodHandle destroy;
    private final MethodHandle tjFree;
    private final MethodHandle errorStr2;
    private final ValueLayout cLong;
    private final ImageIoCodec fallbackForOtherFormats = new ImageIoCodec();

    private TurboJpegCodec(SymbolLookup lib) throws Throwable {
        Linker linker = Linker.nativeLinker();
        // C 'unsigned long' is 8 bytes on Linux/macOS, 4 on Windows
        cLong = (ValueLayout) linker.canonicalLayouts().get("long");
        ValueLayout ptr = ValueLayout.ADDRESS;
        ValueLayout i32 = ValueLayout.JAVA_INT;
        initDecompress = linker.downcallHandle(lib.findOrThrow("tjInitDecompress"), FunctionDescriptor.of(ptr));
        initCompress = linker.downcallHandle(lib.findOrThrow("tjInitCompress"), FunctionDescriptor.of(ptr));
        destroy = linker.downcallHandle(lib.findOrThrow("tjDestroy"), FunctionDescriptor.of(i32, ptr));
        decompressHeader3 = linker.downcallHandle(lib.findOrThrow("tjDecompressHeader3"),
                FunctionDescriptor.of(i32, ptr, ptr, cLong, ptr, ptr, ptr, ptr));
        decompress2 = linker.downcallHandle(lib.findOrThrow("tjDecompress2"),
                FunctionDescriptor.of(i32, ptr, ptr, cLong, ptr, i32, i32, i32, i32, i32));
        compress2 = linker.downcallHandle(lib.findOrThrow("tjCompress2"),
                FunctionDescriptor.of(i32, ptr, ptr, i32, i32, i32, i32, ptr, ptr, i32, i32, i32));
        tjFree = linker.downcallHandle(lib.findOrThrow("tjFree"), FunctionDescriptor.ofVoid(ptr));
        errorStr2 = linker.downcallHandle(lib.findOrThrow("tjGetErrorStr2"), FunctionDescriptor.of(ptr, ptr));
        // one handle of each kind proves the library works before it is chosen
        MemorySegment d = newHandle(initDecompress, "tjInitDecompress");
        destroy(d);
        MemorySegment c = newHandle(initCompress, "tjInitCompress");
        destroy(c);
    }

    /** The codec, or null when libturbojpeg is not installed or does not load. */
    static TurboJpegCodec load() {
        for (String name : new String[] {"libturbojpeg.so.0", "libturbojpeg.so", "libturbojpeg.dylib",
                "/opt/homebrew/opt/jpeg-turbo/lib/libturbojpeg.dylib", "/usr/local/opt/jpeg-turbo/lib/libturbojpeg.dylib",
                "turbojpeg"}) {
            try {
                return new TurboJpegCodec(SymbolLookup.libraryLookup(name, Arena.global()));
            } catch (Throwable ignored) {
                // try the next name; ImageIO is used when none loads
            }
        }
        return null;
    }

    @Override
    public RgbImage decode(byte[] data, ImageSizeLimit limit) throws IOException {
        ImageHeader header = ImageHeader.read(data, limit);
        if (header.format() != ImageHeader.Format.JPEG) return fallbackForOtherFormats.decode(data, limit);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(data.length);
            MemorySegment.copy(data, 0, src, ValueLayout.JAVA_BYTE, 0, data.length);
            MemorySegment w = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment h = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment sub = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment cs = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment handle = newHandle(initDecompress, "tjInitDecompress");
            try {
                int rc = (int) decompressHeader3.invoke(handle, src, (long) data.length, w, h, sub, cs);
                if (rc != 0) throw new BadImageException("damaged JPEG: " + error(handle));
                int width = w.get(ValueLayout.JAVA_INT, 0);
                int height = h.get(ValueLayout.JAVA_INT, 0);
                // 0x0 is what TurboJPEG reports for a tables-only stream: never allocate from its answer unchecked
                if (width != header.width() || height != header.height()) {
                    throw new BadImageException("corrupt JPEG: the frame header declares " + header.width() + "x" + header.height()
                            + " pixels, TurboJPEG reads " + width + "x" + height);
                }
                MemorySegment dst = arena.allocate((long) width * height * 3);
                rc = (int) decompress2.invoke(handle, src, (long) data.length, dst, width, 0, height, TJPF_RGB,
                        TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS);
                if (rc != 0) throw new BadImageException("damaged JPEG: " + error(handle));
                return new RgbImage(width, height, dst.toArray(ValueLayout.JAVA_BYTE));
            } finally {
                destroy(handle);
            }
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("TurboJPEG call failed: " + t, t);
        }
    }

    @Override
    public byte[] encodeJpeg(RgbImage image, int quality) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            byte[] rgb = image.rgb();
            MemorySegment src = arena.allocate(rgb.length);
            MemorySegment.copy(rgb, 0, src, ValueLayout.JAVA_BYTE, 0, rgb.length);
            MemorySegment outPtr = arena.allocate(ValueLayout.ADDRESS);
            outPtr.set(ValueLayout.ADDRESS, 0, MemorySegment.NULL);
            MemorySegment outSize = arena.allocate(MemoryLayout.paddingLayout(8));
            MemorySegment handle = newHandle(initCompress, "tjInitCompress");
            try {
                int rc = (int) compress2.invoke(handle, src, image.width(), 0, image.height(), TJPF_RGB, outPtr, outSize,
                        TJSAMP_420, Math.clamp(quality, 1, 100), 0);
                MemorySegment buf = outPtr.get(ValueLayout.ADDRESS, 0);
                try {
                    if (rc != 0) throw new IOException("JPEG encode failed: " + error(handle));
                    long size = cLong.byteSize() == 8 ? outSize.get(ValueLayout.JAVA_LONG, 0) : outSize.get(ValueLayout.JAVA_INT, 0);
                    return buf.reinterpret(size).toArray(ValueLayout.JAVA_BYTE);
                } finally {
                    if (!buf.equals(MemorySegment.NULL)) tjFree.invoke(buf);
                }
            } finally {
                destroy(handle);
            }
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("TurboJPEG call failed: " + t, t);
        }
    }

    private MemorySegment newHandle(MethodHandle init, String name) throws Throwable {
        MemorySegment handle = (MemorySegment) init.invokeExact();
        if (handle.equals(MemorySegment.NULL)) throw new IOException(name + " failed: " + error(MemorySegment.NULL));
        return handle;
    }

    /** Frees a handle; tjDestroy fails only for an invalid handle, which {@link #newHandle} never returns. */
    private void destroy(MemorySegment handle) throws Throwable {
        int unused = (int) destroy.invokeExact(handle);
    }

    private String error(MemorySegment handle) {
        try {
            MemorySegment s = (MemorySegment) errorStr2.invoke(handle);
            return s.reinterpret(512).getString(0);
        } catch (Throwable t) {
            return "unknown error";
        }
    }

    @Override
    public String name() {
        return "TurboJPEG";
    }
}
