mod update;
