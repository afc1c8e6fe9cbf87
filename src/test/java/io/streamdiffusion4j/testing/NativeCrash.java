package io.streamdiffusion4j.testing;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Crashes the JVM the way a fault in a native library does: a write to address 0 (SIGSEGV). */
public final class NativeCrash {
    private NativeCrash() {}

    public static void main(String[] args) {
        System.out.println("writing to address 0");
        MemorySegment.NULL.reinterpret(8).set(ValueLayout.JAVA_LONG, 0, 42L);
        System.out.println("still alive"); // never printed
    }
}
