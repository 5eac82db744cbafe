package contact

import (
	"fmt"
	"testing"
)

func TestRotate(t *testing.T) {
	frames := [][]byte{{0}, {1}, {2}, {3}}
	tests := []struct {
		offset int
		want   string
	}{
		{0, "[[0] [1] [2] [3]]"},
		{1, "[[1] [2] [3] [0]]"},
		{3, "[[3] [0] [1] [2]]"},
		{6, "[[2] [3] [0] [1]]"}, // past the end wraps
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.offset), func(t *testing.T) {
			if got := fmt.Sprint(rotate(frames, tt.offset)); got != tt.want {
				t.Errorf("rotate(%d) = %s, want %s", tt.offset, got, tt.want)
			}
		})
	}
	if fmt.Sprint(frames) != "[[0] [1] [2] [3]]" {
		t.Errorf("rotate changed its input: %v", frames)
	}
	if got := rotate(nil, 5); len(got) != 0 {
		t.Errorf("rotate(nil) = %v", got)
	}
}
