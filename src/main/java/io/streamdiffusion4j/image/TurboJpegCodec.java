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
 * brew install jpeg-turbo). Native calls are serialised per instance (TurboJPEG handles are not
 * thread-safe).
 */
public final class TurboJpegCodec implements ImageCodec {
    private static final int TJPF_RGB = 0;
    private static final int TJSAMP_420 = 2;

    private final MethodHandle initDecompress;
    private final MethodHandle decompressHeader3;
    private final MethodHandle decompress2;
    private final MethodHandle initCompress;
    private final MethodHandle compress2;
    private final MethodHandle tjFree;
    private final MethodHandle errorStr2;
    private final MemorySegment decompressor;
    private final MemorySegment compressor;
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
        decompressHeader3 = linker.downcallHandle(lib.findOrThrow("tjDecompressHeader3"),
                FunctionDescriptor.of(i32, ptr, ptr, cLong, ptr, ptr, ptr, ptr));
        decompress2 = linker.downcallHandle(lib.findOrThrow("tjDecompress2"),
                FunctionDescriptor.of(i32, ptr, ptr, cLong, ptr, i32, i32, i32, i32, i32));
        compress2 = linker.downcallHandle(lib.findOrThrow("tjCompress2"),
                FunctionDescriptor.of(i32, ptr, ptr, i32, i32, i32, i32, ptr, ptr, i32, i32, i32));
        tjFree = linker.downcallHandle(lib.findOrThrow("tjFree"), FunctionDescriptor.ofVoid(ptr));
        errorStr2 = linker.downcallHandle(lib.findOrThrow("tjGetErrorStr2"), FunctionDescriptor.of(ptr, ptr));
        decompressor = (MemorySegment) initDecompress.invokeExact();
        compressor = (MemorySegment) initCompress.invokeExact();
        if (decompressor.equals(MemorySegment.NULL) || compressor.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("tjInit failed");
        }
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

    private static boolean isJpeg(byte[] data) {
        return data.length > 3 && (data[0] & 0xff) == 0xFF && (data[1] & 0xff) == 0xD8;
    }

    @Override
    public synchronized RgbImage decode(byte[] data) throws IOException {
        if (!isJpeg(data)) return fallbackForOtherFormats.decode(data);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(data.length);
            MemorySegment.copy(data, 0, src, ValueLayout.JAVA_BYTE, 0, data.length);
            MemorySegment w = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment h = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment sub = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment cs = arena.allocate(ValueLayout.JAVA_INT);
            int rc = (int) decompressHeader3.invoke(decompressor, src, (long) data.length, w, h, sub, cs);
            if (rc != 0) throw new IOException("not a JPEG TurboJPEG can read: " + error(decompressor));
            int width = w.get(ValueLayout.JAVA_INT, 0);
            int height = h.get(ValueLayout.JAVA_INT, 0);
            MemorySegment dst = arena.allocate((long) width * height * 3);
            rc = (int) decompress2.invoke(decompressor, src, (long) data.length, dst, width, 0, height, TJPF_RGB, 0);
            if (rc != 0) throw new IOException("JPEG decode failed: " + error(decompressor));
            return new RgbImage(width, height, dst.toArray(ValueLayout.JAVA_BYTE));
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("TurboJPEG call failed: " + t, t);
        }
    }

    @Override
    public synchronized byte[] encodeJpeg(RgbImage image, int quality) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            byte[] rgb = image.rgb();
            MemorySegment src = arena.allocate(rgb.length);
            MemorySegment.copy(rgb, 0, src, ValueLayout.JAVA_BYTE, 0, rgb.length);
            MemorySegment outPtr = arena.allocate(ValueLayout.ADDRESS);
            outPtr.set(ValueLayout.ADDRESS, 0, MemorySegment.NULL);
            MemorySegment outSize = arena.allocate(MemoryLayout.paddingLayout(8));
            int rc = (int) compress2.invoke(compressor, src, image.width(), 0, image.height(), TJPF_RGB, outPtr, outSize,
                    TJSAMP_420, Math.clamp(quality, 1, 100), 0);
            MemorySegment buf = outPtr.get(ValueLayout.ADDRESS, 0);
            try {
                if (rc != 0) throw new IOException("JPEG encode failed: " + error(compressor));
                long size = cLong.byteSize() == 8 ? outSize.get(ValueLayout.JAVA_LONG, 0) : outSize.get(ValueLayout.JAVA_INT, 0);
                return buf.reinterpret(size).toArray(ValueLayout.JAVA_BYTE);
            } finally {
                if (!buf.equals(MemorySegment.NULL)) tjFree.invoke(buf);
            }
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("TurboJPEG call failed: " + t, t);
        }
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
