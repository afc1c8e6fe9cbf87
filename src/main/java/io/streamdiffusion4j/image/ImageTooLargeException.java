package io.streamdiffusion4j.image;

/** An image whose declared width or height is beyond the caller's {@link ImageSizeLimit}; nothing was decoded. */
public final class ImageTooLargeException extends BadImageException {
    private static final long serialVersionUID = 1L;

    private final int width;
    private final int height;
    private final int maxSide;

    ImageTooLargeException(String message, int width, int height, int maxSide) {
        super(message);
        this.width = width;
        this.height = height;
        this.maxSide = maxSide;
    }

    private ImageTooLargeException(String message, ImageTooLargeException cause) {
        super(message, cause);
        this.width = cause.width;
        this.height = cause.height;
        this.maxSide = cause.maxSide;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    public int maxSide() {
        return maxSide;
    }

    @Override
    public ImageTooLargeException from(String source) {
        return new ImageTooLargeException(source + ": " + getMessage(), this);
    }
}
