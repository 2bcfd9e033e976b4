package agent

import "testing"

func TestMeminfoGivesTotalAndUsedLessAvailable(t *testing.T) {
	u, err := parseMeminfo([]byte("MemTotal:       24000000 kB\nMemFree:         1000000 kB\nMemAvailable:   20000000 kB\nBuffers: 1 kB\n"))
	if err != nil || u.MemoryTotal != 24000000*1024 || u.MemoryUsed != 4000000*1024 {
		t.Fatalf("%+v %v", u, err)
	}
	if _, err := parseMeminfo([]byte("MemTotal: 1 kB\n")); err == nil {
		t.Fatal("a meminfo without MemAvailable was read")
	}
}

func TestReadHostReadsThisMachine(t *testing.T) {
	u, err := ReadHost("/")
	if err != nil {
		t.Fatal(err)
	}
	if u.MemoryTotal <= 0 || u.MemoryUsed <= 0 || u.MemoryUsed > u.MemoryTotal || u.DiskTotal <= 0 || u.DiskUsed > u.DiskTotal {
		t.Fatalf("%+v", u)
	}
}
